import { randomBytes } from 'node:crypto';
import { BlockBlobClient, type BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { expect, inject } from 'vitest';
import type { Database } from '../../shared/db/schema.js';
import type { IndexUploadDeps } from '../../shared/sessions/indexSessionUpload.js';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { callApi, type ApiResponse } from './http.js';
import { createTestUser, type TestUser } from './users.js';

/**
 * A session row in the state a test needs, written straight to the database (the upload and indexing path has
 * tests of its own); `ready` sessions get the measurements a ready session must have.
 */
export async function createSessionRow(
  userId: string,
  suiteId: string,
  status: 'awaiting_upload' | 'processing' | 'ready' | 'invalid' = 'ready',
): Promise<string> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    const ready = status === 'ready';
    const digest = ready ? randomBytes(32).toString('hex') : null;
    const { rows } = await client.query<{ id: string }>(
      `insert into sessions (user_id, suite_id, storage_path, status, size_bytes, event_count, sha256,
         format, clock, canonical_size_bytes, canonical_sha256)
       values ($1, $2, 'sessions/pending/', $3, $4, $5, $6, $7, $8, $4, $6) returning id`,
      [userId, suiteId, status, ready ? 100 : null, ready ? 3 : null, digest, ready ? 'recorder-jsonl' : null, ready ? 'absolute' : null],
    );
    const id = rows[0]!.id;
    await client.query('update sessions set storage_path = $2 where id = $1', [id, `sessions/${id}/`]);
    return id;
  } finally {
    await client.end();
  }
}

export interface SessionBody {
  id: string;
  suite_id: string;
  description: string | null;
  storage_path: string;
  status: 'awaiting_upload' | 'processing' | 'ready' | 'invalid';
  format: string | null;
  file_name: string;
  skip_invalid_lines: boolean;
  size_bytes: number | null;
  sha256: string | null;
  canonical_size_bytes: number | null;
  canonical_sha256: string | null;
  event_count: number | null;
  event_counts: Record<string, number> | null;
  clock: 'absolute' | 'relative' | null;
  first_event_at: string | null;
  last_event_at: string | null;
  duration_seconds: number | null;
  screenshot_count: number | null;
  tab_count: number | null;
  url_count: number | null;
  dropped_event_count: number | null;
  skipped_event_count: number | null;
  files: { trace: string; screenshots_manifest: string | null; original: string | null } | null;
  validation_errors: Array<{ line?: number; index?: number; entry?: string; message: string }>;
  created_at: string;
  updated_at: string;
  upload?: { url: string; method: string; headers: Record<string, string>; expires_at: string; max_bytes: number };
}

export type CreatedSession = SessionBody & { upload: NonNullable<SessionBody['upload']> };

export async function createSessionViaApi(user: TestUser, body: Record<string, unknown> = { suite_id: GMAIL_SUITE_ID }) {
  const response = await callApi('/v1/sessions', { method: 'POST', key: user.key, body });
  expect(response.status, response.text).toBe(201);
  return response.json as CreatedSession;
}

export async function getSessionViaApi(user: TestUser, id: string): Promise<ApiResponse> {
  return callApi(`/v1/sessions/${id}`, { key: user.key });
}

/** Polls until `probe` answers something other than undefined; fails at the deadline. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the session is indexed (ready or invalid); with `sha`, indexed for the upload of that content. */
export async function waitUntilIndexed(user: TestUser, id: string, sha?: string): Promise<SessionBody> {
  return eventually(`session ${id} to be indexed`, async () => {
    const session = (await getSessionViaApi(user, id)).json as SessionBody;
    const done = session.status === 'ready' || session.status === 'invalid';
    return done && (sha === undefined || session.sha256 === sha) ? session : undefined;
  });
}

export type FormPart = { name: string; value: string } | { name: string; filename: string; content: Buffer | string };

export function multipartBody(parts: FormPart[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if ('value' in part) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`));
    } else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
            'Content-Type: application/octet-stream\r\n\r\n',
        ),
        Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content),
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** POST /v1/sessions as multipart/form-data, the body sent as bytes. */
export async function postSessionMultipart(user: TestUser, parts: FormPart[]): Promise<ApiResponse> {
  const boundary = `----tracepipe${randomBytes(8).toString('hex')}`;
  return callApi('/v1/sessions', {
    method: 'POST',
    key: user.key,
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    body: multipartBody(parts, boundary),
  });
}

/**
 * The indexer's dependencies for calling it directly, on a staging container of the test's own that the local
 * host does not watch (so that only the test's call indexes what it puts there, however large).
 */
export async function privateIndexer(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  overrides: Partial<IndexUploadDeps> = {},
): Promise<{ deps: IndexUploadDeps; uploads: ContainerClient; sessions: ContainerClient; dispose(): Promise<void> }> {
  const uploads = blobs.getContainerClient(`uploads-test-${randomBytes(4).toString('hex')}`);
  await uploads.create();
  const sessions = blobs.getContainerClient('sessions');
  const deps: IndexUploadDeps = {
    db,
    uploads,
    sessions,
    maxBytes: { url: 5 * 1024 ** 3, multipart: 100 * 1024 * 1024, inline: 100 * 1024 * 1024 },
    logger: { log: () => undefined, warn: () => undefined },
    ...overrides,
  };
  return { deps, uploads, sessions, dispose: () => uploads.delete().then(() => undefined) };
}

/** The staging blob name a session's upload URL writes (`<id>/<attempt>/<file name>` in `uploads`). */
export function stagingNameOf(session: { upload: { url: string } }): string {
  const path = decodeURIComponent(new URL(session.upload.url).pathname);
  return path.slice(path.indexOf('/uploads/') + '/uploads/'.length);
}

/** Every blob under a session's folder in `sessions` (canonical files, screenshots, original, work files). */
export async function sessionBlobNames(sessions: ContainerClient, sessionId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of sessions.listBlobsFlat({ prefix: `${sessionId}/` })) names.push(blob.name.slice(sessionId.length + 1));
  return names.sort();
}

/** Uploads `bytes` through a new session's upload URL (the user's own, or a new user's) and waits for indexing. */
export async function uploadAndIndex(
  bytes: Buffer,
  body: Record<string, unknown> = {},
  user?: TestUser,
): Promise<SessionBody> {
  const owner = user ?? (await createTestUser());
  const session = await createSessionViaApi(owner, { suite_id: GMAIL_SUITE_ID, ...body });
  await new BlockBlobClient(session.upload.url).upload(bytes, bytes.length);
  return waitUntilIndexed(owner, session.id);
}

/** Every blob name under a session's folder in `sessions` and `uploads`, and an example's in `examples`. */
export async function blobsOf(blobs: BlobServiceClient, id: string): Promise<string[]> {
  const names: string[] = [];
  for (const container of ['sessions', 'uploads', 'examples', 'datasets']) {
    // Uncommitted blobs too (a write abandoned half way): a test that says what is stored sees those as well.
    for await (const blob of blobs.getContainerClient(container).listBlobsFlat({ prefix: `${id}/`, includeUncommitedBlobs: true })) {
      names.push(`${container}/${blob.name}`);
    }
  }
  return names.sort();
}
