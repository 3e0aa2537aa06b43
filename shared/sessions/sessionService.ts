import { randomUUID } from 'node:crypto';
import type { ReadableStream } from 'node:stream/web';
import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import { assertCanCreateInSuite } from '../auth/suiteAccess.js';
import { getConfig } from '../config.js';
import { constraintViolationOf } from '../db/constraintViolation.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page } from '../http/pagination.js';
import { validateInput } from '../http/requestParsing.js';
import { z } from '../openapi/zod.js';
import { getBlobServiceClient } from '../storage/clients.js';
import { SESSIONS_CONTAINER } from '../storage/layout.js';
import { FILE_FIELD, receiveMultipartUpload } from './multipartUpload.js';
import { INPUT_EVENTS_FILE, sessionBlobName, sessionStoragePath } from './sessionBlob.js';
import {
  deleteUnindexedSession,
  findVisibleSession,
  insertSession,
  listVisibleSessions,
  suiteExists,
  type SessionRow,
  type SessionViewer,
} from './sessionRepository.js';
import {
  MultipartFieldsSchema,
  type CreateSessionInput,
  type SessionListInput,
  type SessionResponse,
  type SessionUpload,
} from './sessionSchemas.js';
import { createBlobSasUrl } from '../storage/blobSas.js';

type Db = Kysely<Database>;

/** `ts` is microseconds, as in Chrome's trace event format. */
const TS_UNITS_PER_SECOND = 1_000_000;

export function toSessionResponse(row: SessionRow): SessionResponse {
  const measured = row.status === 'ready';
  return {
    id: row.id,
    suite_id: row.suite_id,
    description: row.description,
    storage_path: row.storage_path,
    status: row.status,
    size_bytes: row.size_bytes,
    event_count: measured ? row.event_count : null,
    event_counts: measured ? row.event_counts : null,
    sha256: row.sha256,
    duration_seconds:
      measured && row.first_event_ts !== null && row.last_event_ts !== null
        ? (row.last_event_ts - row.first_event_ts) / TS_UNITS_PER_SECOND
        : null,
    validation_errors: row.status === 'invalid' ? row.validation_errors : [],
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function viewerOf(auth: AuthContext): SessionViewer {
  return { userId: auth.userId, suiteIds: auth.suiteIds };
}

function unknownSuite(suiteId: string): ApiError {
  return ApiError.validation('No such suite.', {
    fields: [{ location: 'body', field: 'suite_id', message: `Suite ${suiteId} does not exist.` }],
  });
}

/**
 * Inserts the caller's session row; a suite that does not exist (the foreign key says so, atomically) is a 422 on
 * suite_id.
 */
async function insertSessionRow(
  db: Db,
  auth: AuthContext,
  id: string,
  input: { suite_id: string; description?: string | null | undefined },
  status: 'awaiting_upload' | 'processing',
): Promise<SessionRow> {
  try {
    return await insertSession(db, {
      id,
      userId: auth.userId,
      suiteId: input.suite_id,
      description: input.description ?? null,
      storagePath: sessionStoragePath(id),
      status,
    });
  } catch (error) {
    const violation = constraintViolationOf(error);
    if (violation?.kind === 'foreign_key' && violation.constraint === 'sessions_suite_id_fkey') {
      throw unknownSuite(input.suite_id);
    }
    throw error;
  }
}

/** JSON create: the session, awaiting its upload, and a URL that allows writing its one blob for a while. */
export async function createSessionWithUploadUrl(
  db: Db,
  auth: AuthContext,
  input: CreateSessionInput,
): Promise<SessionResponse & { upload: SessionUpload }> {
  assertCanCreateInSuite(auth, input.suite_id);
  const config = getConfig();
  const id = randomUUID();
  // Signed before the row is written, so that a signing failure (storage down) leaves nothing behind.
  const signed = await createBlobSasUrl(getBlobServiceClient(), config.storage, {
    containerName: SESSIONS_CONTAINER,
    blobName: sessionBlobName(id),
    ttlSeconds: config.sessions.uploadUrlTtlSeconds,
    httpsOnly: config.environment !== 'development' && config.environment !== 'test',
  });
  const row = await insertSessionRow(db, auth, id, input, 'awaiting_upload');
  return {
    ...toSessionResponse(row),
    upload: {
      url: signed.url,
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob' },
      expires_at: signed.expiresOn.toISOString(),
      max_bytes: config.sessions.uploadMaxBytes,
    },
  };
}

/**
 * Multipart create: the file streams into staged blocks of the session's blob while the form is read. The blob is
 * committed only after the session row exists, so the indexer never meets a blob without its row (it would delete
 * it); any failure discards the blocks, and the row if it was written.
 */
export async function createSessionFromMultipart(
  db: Db,
  auth: AuthContext,
  request: { contentType: string; body: ReadableStream<Uint8Array> | null },
): Promise<SessionResponse> {
  const id = randomUUID();
  const blob = getBlobServiceClient().getContainerClient(SESSIONS_CONTAINER).getBlockBlobClient(sessionBlobName(id));
  try {
    const received = await receiveMultipartUpload({
      contentType: request.contentType,
      body: request.body,
      maxBytes: getConfig().sessions.multipartMaxBytes,
      blob,
      // A bad suite fails the upload as soon as its field arrives (usually before the file).
      onField: async (name, value) => {
        if (name !== 'suite_id') return;
        const { suite_id } = validateInput(MultipartFieldsSchema.pick({ suite_id: true }), { suite_id: value }, 'body');
        assertCanCreateInSuite(auth, suite_id);
        if (!(await suiteExists(db, suite_id))) throw unknownSuite(suite_id);
      },
    });
    const fields = validateInput(MultipartFieldsSchema, received.fields, 'body');
    if (!received.file) {
      throw ApiError.badRequest(`The form has no file "${FILE_FIELD}".`, {
        fields: [{ location: 'body', field: FILE_FIELD, message: 'Required' }],
      });
    }
    assertCanCreateInSuite(auth, fields.suite_id);
    const row = await insertSessionRow(db, auth, id, fields, 'processing');
    try {
      await blob.commitBlockList(received.file.blockIds, {
        blobHTTPHeaders: { blobContentType: 'application/jsonl' },
      });
    } catch (error) {
      await deleteUnindexedSession(db, id);
      throw error;
    }
    return toSessionResponse(row);
  } catch (error) {
    // Staged blocks are invisible but take space until the service discards them; Azurite and some accounts
    // delete them with the (never committed) blob, Azure answers 404 and drops them within a week.
    await blob.deleteIfExists().catch(() => undefined);
    throw error;
  }
}

/**
 * A trace already in memory (A2P's inline file, bounded well below the multipart limit): the row first, then the
 * blob, as the multipart form does, so the indexer never meets a blob without its row; a failed upload removes both.
 */
export async function createSessionFromBytes(
  db: Db,
  auth: AuthContext,
  input: { suite_id: string; description?: string | undefined },
  bytes: Buffer,
): Promise<SessionResponse> {
  assertCanCreateInSuite(auth, input.suite_id);
  const id = randomUUID();
  const row = await insertSessionRow(db, auth, id, input, 'processing');
  const blob = getBlobServiceClient().getContainerClient(SESSIONS_CONTAINER).getBlockBlobClient(sessionBlobName(id));
  try {
    await blob.uploadData(bytes, { blobHTTPHeaders: { blobContentType: 'application/jsonl' } });
  } catch (error) {
    await blob.deleteIfExists().catch(() => undefined);
    await deleteUnindexedSession(db, id);
    throw error;
  }
  return toSessionResponse(row);
}

/**
 * The session whose trace `url` names, when it points at this API's own storage (the blob URL an upload went to,
 * with or without its SAS query) and the session is the caller's; undefined for anything else.
 */
export async function findSessionByTraceUrl(db: Db, auth: AuthContext, url: string): Promise<SessionResponse | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const container = new URL(getBlobServiceClient().getContainerClient(SESSIONS_CONTAINER).url);
  const prefix = `${container.pathname.replace(/\/$/, '')}/`;
  if (parsed.origin !== container.origin || !parsed.pathname.startsWith(prefix)) return undefined;
  const [sessionId, ...rest] = parsed.pathname.slice(prefix.length).split('/');
  if (!z.uuid().safeParse(sessionId).success || rest.join('/') !== INPUT_EVENTS_FILE) return undefined;
  const row = await findVisibleSession(db, viewerOf(auth), (sessionId as string).toLowerCase());
  return row ? toSessionResponse(row) : undefined;
}

export async function getSession(db: Db, auth: AuthContext, sessionId: string): Promise<SessionResponse> {
  const row = await findVisibleSession(db, viewerOf(auth), sessionId);
  if (!row) throw ApiError.notFound('No such session.');
  return toSessionResponse(row);
}

export async function listSessions(db: Db, auth: AuthContext, query: SessionListInput): Promise<Page<SessionResponse>> {
  const { rows, total } = await listVisibleSessions(db, viewerOf(auth), { suiteId: query.suite_id }, query);
  return toPage(rows.map(toSessionResponse), total, query);
}
