import { randomUUID } from 'node:crypto';
import type { ReadableStream } from 'node:stream/web';
import type { BlobServiceClient, BlockBlobClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import { assertCanCreateInSuite } from '../auth/suiteAccess.js';
import { suiteExists } from '../catalog/suiteRepository.js';
import type { Config } from '../config.js';
import { constraintViolationOf } from '../db/constraintViolation.js';
import type { Database, UploadMethod } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page } from '../validation/pagination.js';
import { validateInput } from '../validation/validateInput.js';
import { z } from '../openapi/zod.js';
import { createBlobSasUrl } from '../storage/blobSas.js';
import { SESSIONS_CONTAINER, UPLOADS_CONTAINER } from '../storage/layout.js';
import { DEFAULT_FILE_NAMES, type TraceFormat } from '../traces/traceFormats.js';
import { MICROSECONDS_PER_SECOND } from '../traces/traceTime.js';
import { FILE_FIELD, receiveMultipartUpload } from './multipartUpload.js';
import {
  INPUT_EVENTS_FILE,
  originalBlobName,
  parseStagingBlobName,
  screenshotsManifestBlobName,
  sessionBlobName,
  sessionStoragePath,
  stagingBlobName,
  UPLOAD_FILE_NAME_PATTERN,
} from './sessionBlob.js';
import {
  deleteUnindexedSession,
  findVisibleSession,
  insertSession,
  listVisibleSessions,
  startNextUploadAttempt,
  type SessionRow,
} from './sessionRepository.js';
import {
  MultipartFieldsSchema,
  type CreateSessionInput,
  type NewUploadInput,
  type SessionListInput,
  type SessionResponse,
  type SessionUpload,
} from './sessionSchemas.js';

type Db = Kysely<Database>;

export function toSessionResponse(row: SessionRow): SessionResponse {
  const ready = row.status === 'ready';
  // An expired or deleted session that had been indexed keeps what was measured (its files are gone).
  const indexed = ready || ((row.status === 'expired' || row.status === 'deleted') && row.canonical_sha256 !== null);
  const measured = <T>(value: T): T | null => (indexed ? value : null);
  return {
    id: row.id,
    suite_id: row.suite_id,
    description: row.description,
    storage_path: row.storage_path,
    status: row.status,
    format: (row.format as TraceFormat | null) ?? null,
    file_name: row.upload_file_name,
    skip_invalid_lines: row.skip_invalid_lines,
    size_bytes: row.size_bytes,
    sha256: row.sha256,
    canonical_size_bytes: measured(row.canonical_size_bytes),
    canonical_sha256: measured(row.canonical_sha256),
    event_count: measured(row.event_count),
    event_counts: measured(row.event_counts),
    clock: measured(row.clock),
    first_event_at: measured(row.first_event_at?.toISOString() ?? null),
    last_event_at: measured(row.last_event_at?.toISOString() ?? null),
    duration_seconds:
      indexed && row.first_event_ts !== null && row.last_event_ts !== null
        ? (row.last_event_ts - row.first_event_ts) / MICROSECONDS_PER_SECOND
        : null,
    screenshot_count: measured(row.screenshot_count),
    tab_count: measured(row.tab_count),
    url_count: measured(row.url_count),
    dropped_event_count: measured(row.dropped_event_count),
    skipped_event_count: measured(row.skipped_event_count),
    files: ready
      ? {
          trace: `${SESSIONS_CONTAINER}/${sessionBlobName(row.id)}`,
          screenshots_manifest: row.screenshot_count ? `${SESSIONS_CONTAINER}/${screenshotsManifestBlobName(row.id)}` : null,
          original: row.original_file_name ? `${SESSIONS_CONTAINER}/${originalBlobName(row.id, row.original_file_name)}` : null,
        }
      : null,
    validation_errors: row.status === 'awaiting_upload' || row.status === 'processing' ? [] : row.validation_errors,
    redactions: measured(row.redactions),
    redaction_counts: measured(row.redaction_counts),
    deleted_at: row.deleted_at?.toISOString() ?? null,
    expired_at: row.expired_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function unknownSuite(suiteId: string): ApiError {
  return ApiError.validation('No such suite.', {
    fields: [{ location: 'body', field: 'suite_id', message: `Suite ${suiteId} does not exist.` }],
  });
}

/** A client's file name as an upload's: kept when it is safe as a blob name, else made so. */
export function uploadFileName(given: string | undefined, format: TraceFormat | undefined): string {
  if (given !== undefined) {
    const base = given.split(/[\\/]/).pop() ?? '';
    if (UPLOAD_FILE_NAME_PATTERN.test(base)) return base;
    const safe = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '').slice(0, 128);
    if (UPLOAD_FILE_NAME_PATTERN.test(safe)) return safe;
  }
  return DEFAULT_FILE_NAMES[format ?? 'unknown'];
}

interface NewSessionFields {
  suite_id: string;
  description?: string | null | undefined;
  format?: TraceFormat | undefined;
  skip_invalid_lines?: boolean | undefined;
}

/**
 * Inserts the caller's session row; a suite that does not exist (the foreign key says so, atomically) is a 422 on
 * suite_id.
 */
async function insertSessionRow(
  db: Db,
  auth: AuthContext,
  id: string,
  input: NewSessionFields,
  upload: { status: 'awaiting_upload' | 'processing'; method: UploadMethod; fileName: string },
): Promise<SessionRow> {
  try {
    return await insertSession(db, {
      id,
      user_id: auth.userId,
      suite_id: input.suite_id,
      description: input.description ?? null,
      storage_path: sessionStoragePath(id),
      status: upload.status,
      requested_format: input.format ?? null,
      skip_invalid_lines: input.skip_invalid_lines ?? false,
      upload_file_name: upload.fileName,
      upload_method: upload.method,
    });
  } catch (error) {
    const violation = constraintViolationOf(error);
    if (violation?.kind === 'foreign_key' && violation.constraint === 'sessions_suite_id_fkey') {
      throw unknownSuite(input.suite_id);
    }
    throw error;
  }
}

function stagingBlob(blobs: BlobServiceClient, sessionId: string, attempt: number, fileName: string): BlockBlobClient {
  return blobs
    .getContainerClient(UPLOADS_CONTAINER)
    .getBlockBlobClient(stagingBlobName(sessionId, attempt, fileName));
}

/** What creating a session acts with: the database, the blob service (staging blobs, their SAS) and the settings. */
export interface SessionDeps {
  db: Db;
  blobs: BlobServiceClient;
  config: Pick<Config, 'environment' | 'storage' | 'sessions'>;
}

/** A URL that allows creating and writing one staging blob (the session's current attempt) for a while. */
async function signUpload(deps: SessionDeps, sessionId: string, attempt: number, fileName: string): Promise<{ upload: SessionUpload }> {
  const { config } = deps;
  const signed = await createBlobSasUrl(deps.blobs, config.storage, {
    containerName: UPLOADS_CONTAINER,
    blobName: stagingBlobName(sessionId, attempt, fileName),
    ttlSeconds: config.sessions.uploadUrlTtlSeconds,
    httpsOnly: config.environment !== 'development' && config.environment !== 'test',
  });
  return {
    upload: {
      url: signed.url,
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob' },
      expires_at: signed.expiresOn.toISOString(),
      max_bytes: config.sessions.uploadMaxBytes,
    },
  };
}

/** JSON create: the session, awaiting its upload, and a URL that allows writing its staging blob for a while. */
export async function createSessionWithUploadUrl(
  deps: SessionDeps,
  auth: AuthContext,
  input: CreateSessionInput,
): Promise<SessionResponse & { upload: SessionUpload }> {
  assertCanCreateInSuite(auth, input.suite_id);
  const id = randomUUID();
  const fileName = uploadFileName(input.file_name, input.format);
  // Signed before the row is written, so that a signing failure (storage down) leaves nothing behind.
  const { upload } = await signUpload(deps, id, 1, fileName);
  const row = await insertSessionRow(deps.db, auth, id, input, { status: 'awaiting_upload', method: 'url', fileName });
  return { ...toSessionResponse(row), upload };
}

/**
 * A fresh upload URL for a session whose upload has not arrived (the URL expired) or was invalid (try again): a
 * new staging blob, so that nothing written through an older URL counts. 409 once the session is processing or
 * ready (a ready session never changes).
 */
export async function issueNewUploadUrl(
  deps: SessionDeps,
  auth: AuthContext,
  sessionId: string,
  input: NewUploadInput,
): Promise<SessionResponse & { upload: SessionUpload }> {
  const current = await findVisibleSession(deps.db, auth, sessionId);
  if (!current) throw ApiError.notFound('No such session.');
  if (input.renew) return renewUploadUrl(deps, current, input);
  const format = input.format ?? ((current.requested_format as TraceFormat | null) ?? undefined);
  const fileName = input.file_name !== undefined || input.format !== undefined ? uploadFileName(input.file_name, format) : current.upload_file_name;
  const row = await startNextUploadAttempt(deps.db, auth, sessionId, {
    upload_file_name: fileName,
    requested_format: format ?? null,
    skip_invalid_lines: input.skip_invalid_lines ?? current.skip_invalid_lines,
  });
  if (!row) {
    throw ApiError.conflict(`The session is ${current.status}; a new upload URL is only for sessions awaiting their upload or invalid.`, {
      session_status: current.status,
    });
  }
  return { ...toSessionResponse(row), ...(await signUpload(deps, sessionId, row.upload_attempt, fileName)) };
}

/**
 * The same staging blob signed again (POST /v1/sessions/{id}/upload with `renew`): a client resuming a staged-block
 * upload whose URL expired keeps its blocks, which belong to that blob (a new attempt's blob would start empty).
 * Only while awaiting the upload. Should the upload arrive between this read and the signing, the new URL writes
 * the blob the indexer claims by ETag, exactly as the old URL could until it expired.
 */
async function renewUploadUrl(deps: SessionDeps, current: SessionRow, input: NewUploadInput): Promise<SessionResponse & { upload: SessionUpload }> {
  if (current.status !== 'awaiting_upload') {
    throw ApiError.conflict(`The session is ${current.status}; an upload URL is renewed only while the session awaits its upload.`, {
      session_status: current.status,
    });
  }
  const changed = (['format', 'file_name', 'skip_invalid_lines'] as const).filter((field) => input[field] !== undefined);
  if (changed.length > 0) {
    throw ApiError.validation('A renewed URL keeps the upload as it is.', {
      fields: changed.map((field) => ({ location: 'body', field, message: 'Not allowed with renew.' })),
    });
  }
  return { ...toSessionResponse(current), ...(await signUpload(deps, current.id, current.upload_attempt, current.upload_file_name)) };
}

/**
 * Multipart create: the file streams into staged blocks of the session's staging blob while the form is read.
 * The blob is committed only after the session row exists, so the indexer never meets a blob without its row (it
 * would delete it); any failure discards the blocks, and the row if it was written.
 */
export async function createSessionFromMultipart(
  deps: SessionDeps,
  auth: AuthContext,
  request: { contentType: string; body: ReadableStream<Uint8Array> | null },
): Promise<SessionResponse> {
  const { db, blobs } = deps;
  const id = randomUUID();
  let blob: BlockBlobClient | undefined;
  try {
    const received = await receiveMultipartUpload({
      contentType: request.contentType,
      body: request.body,
      maxBytes: deps.config.sessions.multipartMaxBytes,
      blobFor: (fileName) => {
        blob = stagingBlob(blobs, id, 1, uploadFileName(fileName, undefined));
        return blob;
      },
      // A bad suite fails the upload as soon as its field arrives (usually before the file).
      onField: async (name, value) => {
        if (name !== 'suite_id') return;
        const { suite_id } = validateInput(MultipartFieldsSchema.pick({ suite_id: true }), { suite_id: value }, 'body');
        assertCanCreateInSuite(auth, suite_id);
        if (!(await suiteExists(db, suite_id))) throw unknownSuite(suite_id);
      },
    });
    const fields = validateInput(MultipartFieldsSchema, received.fields, 'body');
    if (!received.file || !blob) {
      throw ApiError.badRequest(`The form has no file "${FILE_FIELD}".`, {
        fields: [{ location: 'body', field: FILE_FIELD, message: 'Required' }],
      });
    }
    assertCanCreateInSuite(auth, fields.suite_id);
    const fileName = parseStagingBlobName(blob.name)?.fileName ?? uploadFileName(undefined, fields.format);
    const row = await insertSessionRow(db, auth, id, fields, { status: 'processing', method: 'multipart', fileName });
    try {
      await blob.commitBlockList(received.file.blockIds);
    } catch (error) {
      await deleteUnindexedSession(db, id);
      throw error;
    }
    return toSessionResponse(row);
  } catch (error) {
    // Staged blocks are invisible but take space until the service discards them; Azurite and some accounts
    // delete them with the (never committed) blob, Azure answers 404 and drops them within a week.
    await blob?.deleteIfExists().catch(() => undefined);
    throw error;
  }
}

/**
 * A recording already in memory (A2P's inline file, bounded well below the multipart limit): the row first, then
 * the staging blob, as the multipart form does, so the indexer never meets a blob without its row; a failed
 * upload removes both.
 */
export async function createSessionFromBytes(
  deps: Pick<SessionDeps, 'db' | 'blobs'>,
  auth: AuthContext,
  input: { suite_id: string; description?: string | undefined; file_name?: string | undefined },
  bytes: Buffer,
): Promise<SessionResponse> {
  assertCanCreateInSuite(auth, input.suite_id);
  const id = randomUUID();
  const fileName = uploadFileName(input.file_name, undefined);
  const row = await insertSessionRow(deps.db, auth, id, input, { status: 'processing', method: 'inline', fileName });
  const blob = stagingBlob(deps.blobs, id, 1, fileName);
  try {
    await blob.uploadData(bytes);
  } catch (error) {
    await blob.deleteIfExists().catch(() => undefined);
    await deleteUnindexedSession(deps.db, id);
    throw error;
  }
  return toSessionResponse(row);
}

/**
 * The session whose recording `url` names, when it points at this API's own storage (the session's canonical
 * trace, or the staging blob its upload went to, with or without the SAS query) and the session is the caller's;
 * undefined for anything else.
 */
export async function findSessionByTraceUrl(
  deps: Pick<SessionDeps, 'db' | 'blobs'>,
  auth: AuthContext,
  url: string,
): Promise<SessionResponse | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const service = new URL(deps.blobs.url);
  if (parsed.origin !== service.origin) return undefined;
  const path = decodeURIComponent(parsed.pathname);
  const base = service.pathname.replace(/\/$/, '');
  let sessionId: string | undefined;
  for (const container of [SESSIONS_CONTAINER, UPLOADS_CONTAINER]) {
    const prefix = `${base}/${container}/`;
    if (!path.startsWith(prefix)) continue;
    const name = path.slice(prefix.length);
    if (container === SESSIONS_CONTAINER) {
      const [id, ...rest] = name.split('/');
      if (z.uuid().safeParse(id).success && rest.join('/') === INPUT_EVENTS_FILE) sessionId = (id as string).toLowerCase();
    } else {
      sessionId = parseStagingBlobName(name)?.sessionId;
    }
  }
  if (!sessionId) return undefined;
  const row = await findVisibleSession(deps.db, auth, sessionId);
  return row ? toSessionResponse(row) : undefined;
}

export async function getSession(db: Db, auth: AuthContext, sessionId: string): Promise<SessionResponse> {
  const row = await findVisibleSession(db, auth, sessionId);
  if (!row) throw ApiError.notFound('No such session.');
  return toSessionResponse(row);
}

export async function listSessions(db: Db, auth: AuthContext, query: SessionListInput): Promise<Page<SessionResponse>> {
  const { rows, total } = await listVisibleSessions(db, auth, { suiteId: query.suite_id, includeDeleted: query.include_deleted }, query);
  return toPage(rows.map(toSessionResponse), total, query);
}
