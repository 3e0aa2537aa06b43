import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { BlobServiceClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../shared/auth/apiKeySecret.js';
import { createDatabase } from '../shared/db/database.js';
import type { Database } from '../shared/db/schema.js';
import { GITHUB_SUITE_ID, GMAIL_SUITE_ID } from '../shared/seed/catalog.js';
import { indexSessionBlob } from '../shared/sessions/indexSessionBlob.js';
import { settleStaleUploads } from '../shared/sessions/staleUploads.js';
import { callApi, type ApiResponse } from './support/http.js';
import { createSessionRow } from './support/sessions.js';
import { createTestUser, type TestUser } from './support/users.js';

/**
 * Sessions end to end, as clients meet them: created over HTTP, uploaded with the real @azure/storage-blob client
 * to the URL the API hands out (or as multipart to the API), indexed by the blob trigger that the local host fires,
 * and read back over HTTP. Each test has users of its own (session creation is limited to 10 a minute per key).
 */

interface Session {
  id: string;
  suite_id: string;
  description: string | null;
  storage_path: string;
  status: 'awaiting_upload' | 'processing' | 'ready' | 'invalid';
  size_bytes: number | null;
  event_count: number | null;
  event_counts: Record<string, number> | null;
  sha256: string | null;
  duration_seconds: number | null;
  validation_errors: Array<{ line: number; message: string }>;
  created_at: string;
  updated_at: string;
  upload?: { url: string; method: string; headers: Record<string, string>; expires_at: string; max_bytes: number };
}

let pgClient: pg.Client;
let db: Kysely<Database>;
let blobs: BlobServiceClient;
let sessionsContainer: ContainerClient;

beforeAll(async () => {
  pgClient = new pg.Client({ connectionString: inject('databaseUrl') });
  await pgClient.connect();
  db = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 2 });
  blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
  sessionsContainer = blobs.getContainerClient('sessions');
});

afterAll(async () => {
  await pgClient.end();
  await db.destroy();
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const trace = (events: Array<Record<string, unknown>>) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

const VALID_TRACE = trace([
  { type: 'keydown', ts: 1_000_000, key: 'a' },
  { type: 'keyup', ts: 1_250_000, key: 'a' },
  { name: 'click', ts: 3_500_000, x: 10, y: 20 },
  { type: 'keydown', ts: 2_000_000, key: 'b' },
]);

async function createSession(user: TestUser, body: Record<string, unknown> = { suite_id: GMAIL_SUITE_ID }) {
  const response = await callApi('/v1/sessions', { method: 'POST', key: user.key, body });
  expect(response.status, response.text).toBe(201);
  return response.json as Session & { upload: NonNullable<Session['upload']> };
}

async function getSession(user: TestUser, id: string): Promise<ApiResponse> {
  return callApi(`/v1/sessions/${id}`, { key: user.key });
}

/** Polls until `probe` answers something other than undefined; fails at the deadline. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the session is indexed (ready or invalid); with `sha`, indexed for the upload of that content. */
async function indexed(user: TestUser, id: string, sha?: string): Promise<Session> {
  return eventually(`session ${id} to be indexed`, async () => {
    const session = (await getSession(user, id)).json as Session;
    const done = session.status === 'ready' || session.status === 'invalid';
    return done && (sha === undefined || session.sha256 === sha) ? session : undefined;
  });
}

type Part = { name: string; value: string } | { name: string; filename: string; content: Buffer | string };

function multipartBody(parts: Part[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if ('value' in part) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`));
    } else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
            'Content-Type: application/jsonl\r\n\r\n',
        ),
        Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content),
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

async function postMultipart(user: TestUser, parts: Part[]): Promise<ApiResponse> {
  const boundary = `----tracepipe${randomBytes(8).toString('hex')}`;
  return callApi('/v1/sessions', {
    method: 'POST',
    key: user.key,
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    body: multipartBody(parts, boundary).toString('latin1'),
  });
}

/** Sends a multipart body as bytes (callApi sends strings). */
async function postMultipartBytes(user: TestUser, parts: Part[]): Promise<ApiResponse> {
  const boundary = `----tracepipe${randomBytes(8).toString('hex')}`;
  const response = await fetch(`${inject('apiUrl')}/v1/sessions`, {
    method: 'POST',
    headers: { 'X-API-Key': user.key, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    body: new Uint8Array(multipartBody(parts, boundary)),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
}

const fileFor = (content: Buffer | string): Part => ({ name: 'input_events', filename: 'input_events.jsonl', content });

async function sessionRowsOf(userId: string): Promise<number> {
  const { rows } = await pgClient.query('select count(*)::int as n from sessions where user_id = $1', [userId]);
  return rows[0].n as number;
}

async function blobNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const item of sessionsContainer.listBlobsFlat({ includeUncommitedBlobs: true })) names.add(item.name);
  return names;
}

/** A second key of the same user, limited to `suiteIds`. */
async function addKey(userId: string, suiteIds: string[] | null): Promise<TestUser> {
  const key = generateApiKeySecret();
  const { rows } = await pgClient.query(
    `insert into api_keys (user_id, name, prefix, key_hash, scopes, suite_ids)
     values ($1, 'limited', $2, $3, '{api}', $4) returning id`,
    [userId, maskApiKeySecret(key), hashApiKeySecret(key, inject('apiKeyHmacSecret')), suiteIds],
  );
  return { userId, apiKeyId: rows[0].id as string, key };
}

async function invokeIndexerViaAdmin(sessionId: string): Promise<void> {
  const response = await fetch(`${inject('apiUrl')}/admin/functions/indexSessionUpload`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ input: `sessions/${sessionId}/input_events.jsonl` }),
  });
  expect(response.status).toBe(202);
}

const indexerDeps = (maxBytes = 5 * 1024 ** 3) => ({
  db,
  container: sessionsContainer,
  maxBytes,
  logger: { log: () => undefined, warn: () => undefined },
});

// ---------------------------------------------------------------------------------------------------------------

describe('POST /v1/sessions (JSON) and the upload URL', () => {
  it('creates a session awaiting its upload, with a SAS URL for its one blob', async () => {
    const user = await createTestUser();
    const before = Date.now();
    const session = await createSession(user, { suite_id: GMAIL_SUITE_ID, description: 'Archiving a thread' });
    expect(session).toMatchObject({
      suite_id: GMAIL_SUITE_ID,
      description: 'Archiving a thread',
      storage_path: `sessions/${session.id}/`,
      status: 'awaiting_upload',
      size_bytes: null,
      event_count: null,
      event_counts: null,
      sha256: null,
      duration_seconds: null,
      validation_errors: [],
    });
    const { upload } = session;
    expect(upload).toMatchObject({ method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, max_bytes: 5 * 1024 ** 3 });
    const url = new URL(upload.url);
    expect(url.pathname).toMatch(new RegExp(`/sessions/${session.id}/input_events\\.jsonl$`));
    expect(url.searchParams.get('sp')).toBe('cw');
    expect(url.searchParams.get('sr')).toBe('b');
    expect(url.searchParams.get('spr')).toBe('https,http'); // TRACEPIPE_ENV=test: Azurite speaks HTTP
    const expiresAt = Date.parse(upload.expires_at);
    expect(expiresAt).toBe(Date.parse(url.searchParams.get('se') as string));
    expect(expiresAt - before).toBeGreaterThan(3600_000 - 5_000);
    expect(expiresAt - before).toBeLessThanOrEqual(3600_000 + 5_000);
    expect((await getSession(user, session.id)).json).toEqual(
      Object.fromEntries(Object.entries(session).filter(([key]) => key !== 'upload')),
    );
  });

  it('indexes a single-PUT upload: ready, with size, sha256, counts by type and duration', async () => {
    const user = await createTestUser();
    const session = await createSession(user);
    await new BlockBlobClient(session.upload.url).upload(VALID_TRACE, Buffer.byteLength(VALID_TRACE));
    const ready = await indexed(user, session.id);
    expect(ready).toMatchObject({
      status: 'ready',
      size_bytes: Buffer.byteLength(VALID_TRACE),
      sha256: sha256(VALID_TRACE),
      event_count: 4,
      event_counts: { keydown: 2, keyup: 1, click: 1 },
      duration_seconds: 2.5,
      validation_errors: [],
    });
    expect(Date.parse(ready.updated_at)).toBeGreaterThan(Date.parse(ready.created_at));
  });

  it('indexes an upload in staged blocks (the SDK with a small block size)', async () => {
    const user = await createTestUser();
    const session = await createSession(user);
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ type: i % 2 ? 'mousemove' : 'wheel', ts: i * 1000 }));
    const data = Buffer.from(lines.join('\n') + '\n');
    expect(data.length).toBeGreaterThan(4 * 16 * 1024);
    const client = new BlockBlobClient(session.upload.url);
    await client.uploadData(data, { blockSize: 16 * 1024, maxSingleShotSize: 16 * 1024, concurrency: 4 });
    const blocks = await blobs
      .getContainerClient('sessions')
      .getBlockBlobClient(`${session.id}/input_events.jsonl`)
      .getBlockList('committed');
    expect(blocks.committedBlocks?.length).toBeGreaterThan(1);
    const ready = await indexed(user, session.id);
    expect(ready).toMatchObject({
      status: 'ready',
      size_bytes: data.length,
      sha256: sha256(data),
      event_count: 5000,
      event_counts: { wheel: 2500, mousemove: 2500 },
      duration_seconds: 4.999,
    });
  });

  it('hands out a URL that cannot read, list, delete or write another blob', async () => {
    const user = await createTestUser();
    const session = await createSession(user);
    const other = await createSession(user);
    const client = new BlockBlobClient(session.upload.url);
    await client.upload(VALID_TRACE, Buffer.byteLength(VALID_TRACE));

    await expect(client.download()).rejects.toMatchObject({ statusCode: 403 });
    await expect(client.getProperties()).rejects.toMatchObject({ statusCode: 403 });
    await expect(client.delete()).rejects.toMatchObject({ statusCode: 403 });

    const sas = new URL(session.upload.url).search;
    const containerUrl = new URL(session.upload.url);
    containerUrl.pathname = containerUrl.pathname.replace(/\/[^/]+\/input_events\.jsonl$/, '');
    const container = new ContainerClient(`${containerUrl.origin}${containerUrl.pathname}${sas}`);
    await expect(container.listBlobsFlat().next()).rejects.toMatchObject({ statusCode: 403 });

    // The same signature on another session's blob, or on another name in this session's folder.
    for (const blobName of [`${other.id}/input_events.jsonl`, `${session.id}/other.jsonl`]) {
      const elsewhere = new URL(session.upload.url);
      elsewhere.pathname = elsewhere.pathname.replace(/[^/]+\/input_events\.jsonl$/, blobName);
      await expect(new BlockBlobClient(elsewhere.toString()).upload('x', 1)).rejects.toMatchObject({ statusCode: 403 });
    }
    expect(await sessionsContainer.getBlobClient(`${other.id}/input_events.jsonl`).exists()).toBe(false);
    expect(await sessionsContainer.getBlobClient(`${session.id}/other.jsonl`).exists()).toBe(false);
    expect((await indexed(user, session.id)).status).toBe('ready');
  });

  it('re-indexes when the same URL uploads again, and ignores a duplicate delivery of the same upload', async () => {
    const user = await createTestUser();
    const session = await createSession(user);
    const client = new BlockBlobClient(session.upload.url);
    await client.upload(VALID_TRACE, Buffer.byteLength(VALID_TRACE));
    const first = await indexed(user, session.id, sha256(VALID_TRACE));
    expect(first.status).toBe('ready');

    // The same blob event again, twice, through the host's admin API: nothing changes.
    await invokeIndexerViaAdmin(session.id);
    await invokeIndexerViaAdmin(session.id);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await getSession(user, session.id)).json).toEqual(first);
    // And through the service directly, where the outcome is visible.
    expect(await indexSessionBlob(indexerDeps(), session.id)).toMatchObject({ outcome: 'already_indexed' });
    expect((await getSession(user, session.id)).json).toEqual(first);

    const broken = `${VALID_TRACE}[1, 2, 3]\n`;
    await client.upload(broken, Buffer.byteLength(broken));
    const second = await indexed(user, session.id, sha256(broken));
    expect(second).toMatchObject({
      status: 'invalid',
      size_bytes: Buffer.byteLength(broken),
      event_count: null,
      event_counts: null,
      duration_seconds: null,
      validation_errors: [{ line: 5, message: 'The line is an array, not a JSON object.' }],
    });

    await client.upload(VALID_TRACE, Buffer.byteLength(VALID_TRACE));
    const third = await indexed(user, session.id, sha256(VALID_TRACE));
    expect(third).toMatchObject({ status: 'ready', event_count: 4, validation_errors: [] });
    expect(Date.parse(third.updated_at)).toBeGreaterThan(Date.parse(second.updated_at));
  });

  it('answers 403 for a suite outside the key, 422 for a suite that does not exist, 400 for a missing suite', async () => {
    const user = await createTestUser({ suiteIds: [GITHUB_SUITE_ID] });
    const forbidden = await callApi('/v1/sessions', { method: 'POST', key: user.key, body: { suite_id: GMAIL_SUITE_ID } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json).toMatchObject({ error: { code: 'forbidden' } });

    const anyone = await createTestUser();
    const unknown = await callApi('/v1/sessions', { method: 'POST', key: anyone.key, body: { suite_id: randomUUID() } });
    expect(unknown.status).toBe(422);
    expect(unknown.json).toMatchObject({
      error: { code: 'validation_error', details: { fields: [{ field: 'suite_id' }] } },
    });
    const malformed = await callApi('/v1/sessions', { method: 'POST', key: anyone.key, body: { suite_id: 'gmail' } });
    expect(malformed.status).toBe(422);
    const missing = await callApi('/v1/sessions', { method: 'POST', key: anyone.key, body: { description: 'x' } });
    expect(missing.status).toBe(400);
    const wrongType = await callApi('/v1/sessions', {
      method: 'POST',
      key: anyone.key,
      headers: { 'Content-Type': 'text/plain' },
      body: 'suite_id=x',
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json).toMatchObject({ error: { code: 'bad_request' } });
    expect(await sessionRowsOf(anyone.userId)).toBe(0);
    expect(await sessionRowsOf(user.userId)).toBe(0);
  });
});

describe('POST /v1/sessions (multipart/form-data)', () => {
  it.each([
    ['fields before the file', (file: Part) => [{ name: 'suite_id', value: GMAIL_SUITE_ID }, { name: 'description', value: 'multipart' }, file]],
    ['the file before the fields', (file: Part) => [file, { name: 'description', value: 'multipart' }, { name: 'suite_id', value: GMAIL_SUITE_ID }]],
  ])('streams the file to the session blob with %s; the session is processing, then ready', async (_order, partsFor) => {
    const user = await createTestUser();
    const response = await postMultipart(user, partsFor(fileFor(VALID_TRACE)));
    expect(response.status, response.text).toBe(201);
    const session = response.json as Session;
    expect(session).toMatchObject({
      suite_id: GMAIL_SUITE_ID,
      description: 'multipart',
      status: 'processing',
      storage_path: `sessions/${session.id}/`,
    });
    expect(session).not.toHaveProperty('upload');
    const stored = await sessionsContainer.getBlobClient(`${session.id}/input_events.jsonl`).downloadToBuffer();
    expect(stored.toString()).toBe(VALID_TRACE);
    expect(await indexed(user, session.id)).toMatchObject({
      status: 'ready',
      sha256: sha256(VALID_TRACE),
      event_counts: { keydown: 2, keyup: 1, click: 1 },
    });
  });

  it('streams a file of several blocks', async () => {
    const user = await createTestUser();
    const line = JSON.stringify({ type: 'mousemove', ts: 1, pad: 'x'.repeat(1000) }) + '\n';
    const data = Buffer.from(line.repeat(10_000)); // ~10 MB: three 4 MiB blocks
    const response = await postMultipartBytes(user, [{ name: 'suite_id', value: GMAIL_SUITE_ID }, fileFor(data)]);
    expect(response.status, response.text).toBe(201);
    const id = (response.json as Session).id;
    const blocks = await sessionsContainer.getBlockBlobClient(`${id}/input_events.jsonl`).getBlockList('committed');
    expect(blocks.committedBlocks).toHaveLength(3);
    expect(await indexed(user, id)).toMatchObject({ status: 'ready', size_bytes: data.length, sha256: sha256(data), event_count: 10_000 });
  });

  it('answers 413 over the limit and leaves no blob and no row behind', async () => {
    const user = await createTestUser();
    const blobsBefore = await blobNames();
    const limit = 100 * 1024 * 1024;
    const line = Buffer.from(JSON.stringify({ type: 'keydown', ts: 1, pad: 'y'.repeat(990) }) + '\n');
    const big = Buffer.alloc(limit + line.length);
    for (let offset = 0; offset < big.length; offset += line.length) line.copy(big, offset);
    const response = await postMultipartBytes(user, [{ name: 'suite_id', value: GMAIL_SUITE_ID }, fileFor(big)]);
    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({ error: { code: 'payload_too_large', details: { max_bytes: limit } } });
    expect(await sessionRowsOf(user.userId)).toBe(0);
    const blobsAfter = await blobNames();
    expect([...blobsAfter].filter((name) => !blobsBefore.has(name))).toEqual([]);
  });

  it('answers 400 without the file or the suite, 422 for a suite that does not exist, 403 outside the key', async () => {
    const user = await createTestUser();
    const noFile = await postMultipart(user, [{ name: 'suite_id', value: GMAIL_SUITE_ID }]);
    expect(noFile.status).toBe(400);
    expect(noFile.json).toMatchObject({ error: { code: 'bad_request', message: 'The form has no file "input_events".' } });

    const noSuite = await postMultipart(user, [fileFor(VALID_TRACE)]);
    expect(noSuite.status).toBe(400);
    expect(noSuite.json).toMatchObject({ error: { code: 'bad_request', details: { fields: [{ field: 'suite_id' }] } } });

    for (const parts of [
      [{ name: 'suite_id', value: randomUUID() }, fileFor(VALID_TRACE)],
      [fileFor(VALID_TRACE), { name: 'suite_id', value: randomUUID() }],
    ]) {
      const unknown = await postMultipart(user, parts);
      expect(unknown.status).toBe(422);
      expect(unknown.json).toMatchObject({ error: { code: 'validation_error', details: { fields: [{ field: 'suite_id' }] } } });
    }

    const limited = await createTestUser({ suiteIds: [GITHUB_SUITE_ID] });
    const forbidden = await postMultipart(limited, [fileFor(VALID_TRACE), { name: 'suite_id', value: GMAIL_SUITE_ID }]);
    expect(forbidden.status).toBe(403);

    const malformed = await callApi('/v1/sessions', {
      method: 'POST',
      key: user.key,
      headers: { 'Content-Type': 'multipart/form-data' }, // no boundary
      body: 'whatever',
    });
    expect(malformed.status).toBe(400);
    expect(await sessionRowsOf(user.userId)).toBe(0);
    expect(await sessionRowsOf(limited.userId)).toBe(0);
  });
});

describe('invalid traces', () => {
  const twoMiBLine = JSON.stringify({ type: 'a', ts: 1, pad: 'z'.repeat(2 * 1024 * 1024) });
  const ok = (ts: number) => JSON.stringify({ type: 'keydown', ts });

  it.each([
    ['a line that is not JSON', `${ok(1)}\n${ok(2)}\n{"type": "a", "ts": \n`, [{ line: 3, message: /^The line is not valid JSON/ }]],
    ['JSON array lines', `[1]\n${ok(2)}\n[{"type": "a", "ts": 3}]\n`, [
      { line: 1, message: /^The line is an array, not a JSON object\.$/ },
      { line: 3, message: /^The line is an array, not a JSON object\.$/ },
    ]],
    ['an event without ts', `${ok(1)}\n{"type": "click"}\n`, [{ line: 2, message: /^The event has no `ts`\.$/ }]],
    ['a 2 MiB line', `${ok(1)}\n${ok(2)}\n${twoMiBLine}\n${ok(4)}\n`, [{ line: 3, message: /^The line is longer than 1048576 bytes/ }]],
    ['invalid UTF-8', Buffer.concat([Buffer.from(`${ok(1)}\n{"type": "\xff`, 'latin1'), Buffer.from('", "ts": 2}\n')]), [
      { line: 2, message: /^The line is not valid UTF-8\.$/ },
    ]],
    ['an empty file', '', [{ line: 0, message: /^The file is empty/ }]],
  ])('calls %s invalid, with the line numbers', async (_name, content, expected) => {
    const user = await createTestUser();
    const session = await createSession(user);
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    await new BlockBlobClient(session.upload.url).upload(data, data.length);
    const result = await indexed(user, session.id);
    expect(result.status).toBe('invalid');
    expect(result.size_bytes).toBe(data.length);
    expect(result.sha256).toBe(sha256(data));
    expect(result.validation_errors).toHaveLength(expected.length);
    expected.forEach((error, i) => {
      expect(result.validation_errors[i]?.line).toBe(error.line);
      expect(result.validation_errors[i]?.message).toMatch(error.message);
    });
  });
});

describe('the indexer, beyond the upload', () => {
  it('deletes a blob that has no session', async () => {
    const orphan = sessionsContainer.getBlockBlobClient(`${randomUUID()}/input_events.jsonl`);
    await orphan.upload(VALID_TRACE, Buffer.byteLength(VALID_TRACE));
    await eventually('the orphan blob to be deleted', async () => ((await orphan.exists()) ? undefined : true));
  });

  it('deletes an upload over the maximum size and marks the session invalid', async () => {
    const user = await createTestUser();
    const session = await createSession(user);
    // A container the host does not watch, so that only this call indexes (with a 10-byte limit).
    const container = blobs.getContainerClient(`indexer-tests-${randomBytes(4).toString('hex')}`);
    await container.create();
    const blob = container.getBlockBlobClient(`${session.id}/input_events.jsonl`);
    await blob.upload(VALID_TRACE, Buffer.byteLength(VALID_TRACE));
    const outcome = await indexSessionBlob({ ...indexerDeps(10), container }, session.id);
    expect(outcome).toMatchObject({ outcome: 'too_large', sizeBytes: Buffer.byteLength(VALID_TRACE) });
    expect(await blob.exists()).toBe(false);
    expect((await getSession(user, session.id)).json).toMatchObject({
      status: 'invalid',
      size_bytes: null, // deleted: nothing stored, nothing metered
      sha256: null,
      validation_errors: [{ line: 0, message: expect.stringMatching(/limit is 10\. It has been deleted\./) }],
    });
    await container.delete();
  });
});

describe('sessions stuck in processing', () => {
  it('indexes one whose blob is there, marks one without a blob invalid, and leaves recent ones alone', async () => {
    const user = await createTestUser();
    // A container the host does not watch, so that only the settling indexes the blob that is there.
    const container = blobs.getContainerClient(`stale-tests-${randomBytes(4).toString('hex')}`);
    await container.create();
    const [withBlob, withoutBlob, recent] = await Promise.all(
      [0, 1, 2].map(() => createSessionRow(user.userId, GMAIL_SUITE_ID, 'processing')),
    );
    await container.getBlockBlobClient(`${withBlob}/input_events.jsonl`).upload(VALID_TRACE, Buffer.byteLength(VALID_TRACE));
    await db
      .updateTable('sessions')
      .set({ updated_at: new Date(Date.now() - 2 * 3600_000) })
      .where('id', 'in', [withBlob as string, withoutBlob as string])
      .execute();

    const settled = await settleStaleUploads({ ...indexerDeps(), container });
    expect(settled).toEqual(
      expect.arrayContaining([
        { sessionId: withBlob, outcome: 'ready' },
        { sessionId: withoutBlob, outcome: 'abandoned' },
      ]),
    );
    expect(settled.map((entry) => entry.sessionId)).not.toContain(recent);
    expect((await getSession(user, withBlob as string)).json).toMatchObject({ status: 'ready', event_count: 4 });
    expect((await getSession(user, withoutBlob as string)).json).toMatchObject({
      status: 'invalid',
      size_bytes: null,
      validation_errors: [{ line: 0, message: 'The upload did not complete; nothing is stored. Upload again.' }],
    });
    expect((await getSession(user, recent as string)).json).toMatchObject({ status: 'processing' });
    // Settled once: a second run finds nothing of these.
    const again = (await settleStaleUploads({ ...indexerDeps(), container })).map((entry) => entry.sessionId);
    expect(again).not.toContain(withBlob);
    expect(again).not.toContain(withoutBlob);
    await container.delete();
  });
});

describe('GET /v1/sessions and /v1/sessions/{id}', () => {
  it('lists your sessions newest first, by suite, a page at a time', async () => {
    const user = await createTestUser();
    const a = await createSession(user, { suite_id: GMAIL_SUITE_ID });
    const b = await createSession(user, { suite_id: GITHUB_SUITE_ID });
    const c = await createSession(user, { suite_id: GMAIL_SUITE_ID });
    const all = await callApi('/v1/sessions', { key: user.key });
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ total: 3, page: 1, per_page: 20 });
    expect((all.json as { items: Session[] }).items.map((s) => s.id)).toEqual([c.id, b.id, a.id]);
    expect((all.json as { items: Session[] }).items[0]).not.toHaveProperty('upload');

    const gmail = await callApi(`/v1/sessions?suite_id=${GMAIL_SUITE_ID}`, { key: user.key });
    expect((gmail.json as { items: Session[] }).items.map((s) => s.id)).toEqual([c.id, a.id]);
    const page2 = await callApi('/v1/sessions?per_page=1&page=2', { key: user.key });
    expect(page2.json).toMatchObject({ total: 3, page: 2, per_page: 1, items: [{ id: b.id }] });
    expect((await callApi('/v1/sessions?per_page=101', { key: user.key })).status).toBe(422);
    expect((await callApi('/v1/sessions?suite_id=nope', { key: user.key })).status).toBe(422);
  });

  it("answers 404 for another user's session and never lists it", async () => {
    const owner = await createTestUser();
    const stranger = await createTestUser();
    const session = await createSession(owner);
    expect((await getSession(owner, session.id)).status).toBe(200);
    const response = await getSession(stranger, session.id);
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ error: { code: 'not_found' } });
    expect((await getSession(stranger, randomUUID())).json).toEqual(response.json);
    expect((await callApi('/v1/sessions', { key: stranger.key })).json).toMatchObject({ total: 0, items: [] });
  });

  it("shows a suite-limited key only its suites' sessions", async () => {
    const user = await createTestUser();
    const gmail = await createSession(user, { suite_id: GMAIL_SUITE_ID });
    const github = await createSession(user, { suite_id: GITHUB_SUITE_ID });
    const limited = await addKey(user.userId, [GITHUB_SUITE_ID]);
    expect((await getSession(limited, gmail.id)).status).toBe(404);
    expect((await getSession(limited, github.id)).status).toBe(200);
    const list = await callApi('/v1/sessions', { key: limited.key });
    expect(list.json).toMatchObject({ total: 1, items: [{ id: github.id }] });
    const filtered = await callApi(`/v1/sessions?suite_id=${GMAIL_SUITE_ID}`, { key: limited.key });
    expect(filtered.json).toMatchObject({ total: 0, items: [] });
    const none = await addKey(user.userId, []);
    expect((await callApi('/v1/sessions', { key: none.key })).json).toMatchObject({ total: 0 });
  });

  it('answers 422 for a malformed id', async () => {
    const user = await createTestUser();
    const response = await getSession(user, 'not-a-uuid');
    expect(response.status).toBe(422);
    expect(response.json).toMatchObject({ error: { code: 'validation_error', details: { fields: [{ field: 'id' }] } } });
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const doc = (await callApi('/v1/openapi.json', { key: null })).json as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths['/v1/sessions']?.post?.requestBody?.content ?? {})).toEqual([
      'application/json',
      'multipart/form-data',
    ]);
    expect(doc.paths['/v1/sessions/{id}']?.get).toBeDefined();
    expect(doc.components.schemas).toHaveProperty('Session');
    expect(doc.components.schemas).toHaveProperty('SessionUpload');
  });
});
