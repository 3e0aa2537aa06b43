import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import { createDatabase } from '../../shared/db/database.js';
import type { Database } from '../../shared/db/schema.js';
import { GITHUB_SUITE_ID, GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { indexSessionUpload } from '../../shared/sessions/indexSessionUpload.js';
import { settleStaleUploads } from '../../shared/sessions/staleUploads.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { callApi, type ApiResponse } from '../support/http.js';
import {
  createSessionRow,
  createSessionViaApi,
  eventually,
  getSessionViaApi,
  postSessionMultipart,
  privateIndexer,
  sessionBlobNames,
  stagingNameOf,
  waitUntilIndexed,
  type FormPart,
  type SessionBody,
} from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';

/**
 * Sessions end to end, as clients meet them: created over HTTP, uploaded with the real @azure/storage-blob client
 * to the URL the API hands out (a staging blob) or as multipart to the API, indexed by the blob trigger that the
 * local host fires into the canonical files, and read back over HTTP. The formats themselves have their own file
 * (sessionFormats.test.ts). Each test has users of its own (session creation is limited to 10 a minute per key).
 */

let pgClient: pg.Client;
let db: Kysely<Database>;
let blobs: BlobServiceClient;
let sessionsContainer: ContainerClient;
let uploadsContainer: ContainerClient;

beforeAll(async () => {
  pgClient = new pg.Client({ connectionString: inject('databaseUrl') });
  await pgClient.connect();
  db = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 2 });
  blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
  sessionsContainer = blobs.getContainerClient('sessions');
  uploadsContainer = blobs.getContainerClient('uploads');
});

afterAll(async () => {
  await pgClient.end();
  await db.destroy();
});

// The sample without the events of its password field and form (masked at ingestion: test/redaction*.test.ts), so
// that the canonical trace of this canonical upload is the upload itself, byte for byte.
const RECORDER_LINES = readFileSync(join(PROJECT_ROOT, 'test/fixtures/samples/recorder-session.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .filter((line) => !line.includes('"id":"password"') && !line.includes('"action":"submit"'));
const RECORDER = Buffer.from(`${RECORDER_LINES.join('\n')}\n`);
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const recorderLine = (second: number, action = 'click') =>
  JSON.stringify({ suite: 'gmail', tab: 1, url: 'https://mail.google.com/', timestamp: `2026-01-06T20:30:${String(second).padStart(2, '0')}.000000+00:00`, action });
const SMALL = `${[1, 2, 4, 3].map((s, i) => recorderLine(s, i % 2 ? 'keyup' : 'keydown')).join('\n')}\n`;

async function put(url: string, data: Buffer | string): Promise<void> {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  await new BlockBlobClient(url).upload(bytes, bytes.length);
}

async function canonical(sessionId: string): Promise<Buffer> {
  return sessionsContainer.getBlobClient(`${sessionId}/input_events.jsonl`).downloadToBuffer();
}

async function sessionRowsOf(userId: string): Promise<number> {
  const { rows } = await pgClient.query('select count(*)::int as n from sessions where user_id = $1', [userId]);
  return rows[0].n as number;
}

async function uploadNames(prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for await (const item of uploadsContainer.listBlobsFlat({ prefix, includeUncommitedBlobs: true })) names.push(item.name);
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

const fileFor = (content: Buffer | string, filename = 'recording.jsonl'): FormPart => ({ name: 'input_events', filename, content });

describe('POST /v1/sessions (JSON) and the upload URL', () => {
  it('creates a session awaiting its upload, with a SAS URL for one staging blob', async () => {
    const user = await createTestUser();
    const before = Date.now();
    const session = await createSessionViaApi(user, { suite_id: GMAIL_SUITE_ID, description: 'Archiving a thread' });
    expect(session).toMatchObject({
      suite_id: GMAIL_SUITE_ID,
      description: 'Archiving a thread',
      storage_path: `sessions/${session.id}/`,
      status: 'awaiting_upload',
      format: null,
      file_name: 'upload',
      skip_invalid_lines: false,
      size_bytes: null,
      event_count: null,
      event_counts: null,
      sha256: null,
      duration_seconds: null,
      files: null,
      validation_errors: [],
    });
    const { upload } = session;
    expect(upload).toMatchObject({ method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, max_bytes: 5 * 1024 ** 3 });
    const url = new URL(upload.url);
    expect(url.pathname).toMatch(new RegExp(`/uploads/${session.id}/1/upload$`));
    expect(url.searchParams.get('sp')).toBe('cw');
    expect(url.searchParams.get('sr')).toBe('b');
    expect(url.searchParams.get('spr')).toBe('https,http'); // TRACEPIPE_ENV=test: Azurite speaks HTTP
    const expiresAt = Date.parse(upload.expires_at);
    expect(expiresAt).toBe(Date.parse(url.searchParams.get('se') as string));
    expect(expiresAt - before).toBeGreaterThan(3600_000 - 5_000);
    expect(expiresAt - before).toBeLessThanOrEqual(3600_000 + 5_000);
    expect((await getSessionViaApi(user, session.id)).json).toEqual(
      Object.fromEntries(Object.entries(session).filter(([key]) => key !== 'upload')),
    );
    // The file name follows the declared format, or the one given.
    expect(new URL((await createSessionViaApi(user, { suite_id: GMAIL_SUITE_ID, format: 'recorder-bundle' })).upload.url).pathname).toMatch(/\/1\/recording\.zip$/);
    expect(new URL((await createSessionViaApi(user, { suite_id: GMAIL_SUITE_ID, file_name: 'my-trace.json' })).upload.url).pathname).toMatch(/\/1\/my-trace\.json$/);
  });

  it('indexes a single-PUT upload into the canonical trace and deletes the staging blob', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    await put(session.upload.url, RECORDER);
    const ready = await waitUntilIndexed(user, session.id);
    expect(ready).toMatchObject({
      status: 'ready',
      format: 'recorder-jsonl',
      size_bytes: RECORDER.length,
      sha256: sha256(RECORDER),
      canonical_size_bytes: RECORDER.length,
      canonical_sha256: sha256(RECORDER),
      event_count: RECORDER_LINES.length,
      clock: 'absolute',
      first_event_at: '2026-12-01T21:22:54.838Z',
      last_event_at: '2026-12-01T21:22:56.998Z',
      duration_seconds: 2.1606,
      tab_count: 1,
      url_count: 1,
      screenshot_count: 0,
      dropped_event_count: 0,
      skipped_event_count: 0,
      files: { trace: `sessions/${session.id}/input_events.jsonl`, screenshots_manifest: null, original: null },
      validation_errors: [],
    });
    expect(ready.event_counts).toMatchObject({ mousemove: 16, keydown: 7, click: 3 });
    // Already canonical: the trace is the upload, and no original is kept beside it.
    expect(sha256(await canonical(session.id))).toBe(sha256(RECORDER));
    expect(await sessionBlobNames(sessionsContainer, session.id)).toEqual(['input_events.jsonl']);
    expect(await uploadNames(`${session.id}/`)).toEqual([]);
  });

  it('indexes an upload in staged blocks (the SDK with a small block size)', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    const lines = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify({ timestamp: new Date(Date.UTC(2026, 0, 1) + i).toISOString(), action: i % 2 ? 'mousemove' : 'wheel' }),
    );
    const data = Buffer.from(`${lines.join('\n')}\n`);
    await new BlockBlobClient(session.upload.url).uploadData(data, { blockSize: 16 * 1024, maxSingleShotSize: 16 * 1024, concurrency: 4 });
    const ready = await waitUntilIndexed(user, session.id);
    expect(ready).toMatchObject({
      status: 'ready',
      size_bytes: data.length,
      sha256: sha256(data),
      event_count: 5000,
      event_counts: { wheel: 2500, mousemove: 2500 },
      duration_seconds: 4.999,
      files: { original: `sessions/${session.id}/original/upload` },
    });
    // The timestamps were written canonically (microseconds, +00:00); the upload is kept as it came.
    const first = (await canonical(session.id)).toString().split('\n')[0];
    expect(first).toBe('{"timestamp":"2026-01-01T00:00:00.000000+00:00","action":"wheel"}');
    const original = await sessionsContainer.getBlobClient(`${session.id}/original/upload`).downloadToBuffer();
    expect(sha256(original)).toBe(sha256(data));
  });

  it('hands out a URL that cannot read, list, delete or write another blob', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    const other = await createSessionViaApi(user);
    const client = new BlockBlobClient(session.upload.url);
    await client.upload(SMALL, Buffer.byteLength(SMALL));

    await expect(client.download()).rejects.toMatchObject({ statusCode: 403 });
    await expect(client.getProperties()).rejects.toMatchObject({ statusCode: 403 });
    await expect(client.delete()).rejects.toMatchObject({ statusCode: 403 });
    const sas = new URL(session.upload.url).search;
    const containerUrl = new URL(session.upload.url);
    containerUrl.pathname = containerUrl.pathname.replace(/\/[^/]+\/1\/upload$/, '');
    const container = new ContainerClient(`${containerUrl.origin}${containerUrl.pathname}${sas}`);
    await expect(container.listBlobsFlat().next()).rejects.toMatchObject({ statusCode: 403 });

    // The same signature on another session's staging blob, another name of this one, or the canonical trace.
    for (const path of [`uploads/${other.id}/1/upload`, `uploads/${session.id}/2/upload`, `sessions/${session.id}/input_events.jsonl`]) {
      const elsewhere = new URL(session.upload.url);
      elsewhere.pathname = elsewhere.pathname.replace(/uploads\/[^?]+$/, path);
      await expect(new BlockBlobClient(elsewhere.toString()).upload('x', 1)).rejects.toMatchObject({ statusCode: 403 });
    }
    expect((await waitUntilIndexed(user, session.id)).status).toBe('ready');
    expect(await uploadsContainer.getBlobClient(`${other.id}/1/upload`).exists()).toBe(false);
  });

  it('keeps an indexed session as it is: a later upload to its URL is deleted and changes nothing', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    await put(session.upload.url, SMALL);
    const ready = await waitUntilIndexed(user, session.id);
    expect(ready).toMatchObject({ status: 'ready', event_count: 4 });
    const trace = await canonical(session.id);

    const other = `${recorderLine(9)}\n`;
    await put(session.upload.url, other); // the URL is still valid: its write lands in staging...
    await eventually('the late upload to be deleted', async () => ((await uploadNames(`${session.id}/`)).length === 0 ? true : undefined));
    // ...and is deleted without touching the session.
    expect((await getSessionViaApi(user, session.id)).json).toEqual(ready);
    expect((await canonical(session.id)).equals(trace)).toBe(true);

    // The same outcome when the indexer is called for such a blob directly: ignored.
    const indexer = await privateIndexer(db, blobs);
    try {
      const late = indexer.uploads.getBlockBlobClient(stagingNameOf(session));
      await late.upload(other, other.length);
      expect(await indexSessionUpload(indexer.deps, late.name)).toMatchObject({ outcome: 'ignored' });
      expect(await late.exists()).toBe(false);
    } finally {
      await indexer.dispose();
    }
  });

  it('re-indexes the last of several uploads to one URL before indexing, and a duplicate event changes nothing', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    const indexer = await privateIndexer(db, blobs);
    try {
      // In a container the host does not watch, so that the test decides when indexing runs.
      const staging = indexer.uploads.getBlockBlobClient(stagingNameOf(session));
      await staging.upload(SMALL, Buffer.byteLength(SMALL));
      const first = await staging.getProperties();
      await staging.upload(`${recorderLine(7)}\n`, Buffer.byteLength(`${recorderLine(7)}\n`)); // replaced before indexing
      const outcome = await indexSessionUpload(indexer.deps, staging.name);
      expect(outcome).toMatchObject({ outcome: 'ready' });
      expect(outcome).not.toMatchObject({ etag: first.etag });
      expect((await getSessionViaApi(user, session.id)).json).toMatchObject({ status: 'ready', event_count: 1 });
      // The event again: the blob is gone, nothing to do.
      expect(await indexSessionUpload(indexer.deps, staging.name)).toEqual({ outcome: 'blob_missing' });
    } finally {
      await indexer.dispose();
    }
  });

  it('answers 403 for a suite outside the key, 422 for a suite that does not exist or a bad format, 400 for a missing suite', async () => {
    const user = await createTestUser({ suiteIds: [GITHUB_SUITE_ID] });
    const forbidden = await callApi('/v1/sessions', { method: 'POST', key: user.key, body: { suite_id: GMAIL_SUITE_ID } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json).toMatchObject({ error: { code: 'forbidden' } });

    const anyone = await createTestUser();
    const unknown = await callApi('/v1/sessions', { method: 'POST', key: anyone.key, body: { suite_id: randomUUID() } });
    expect(unknown.status).toBe(422);
    expect(unknown.json).toMatchObject({ error: { code: 'validation_error', details: { fields: [{ field: 'suite_id' }] } } });
    for (const body of [
      { suite_id: 'gmail' },
      { suite_id: GMAIL_SUITE_ID, format: 'har' },
      { suite_id: GMAIL_SUITE_ID, file_name: '../escape.zip' },
      { suite_id: GMAIL_SUITE_ID, skip_invalid_lines: 'yes' },
    ]) {
      const invalid = await callApi('/v1/sessions', { method: 'POST', key: anyone.key, body });
      expect(invalid.status, JSON.stringify(body)).toBe(422);
    }
    const badFormat = await callApi('/v1/sessions', { method: 'POST', key: anyone.key, body: { suite_id: GMAIL_SUITE_ID, format: 'har' } });
    expect(badFormat.json).toMatchObject({ error: { details: { fields: [{ field: 'format' }] } } });
    const missing = await callApi('/v1/sessions', { method: 'POST', key: anyone.key, body: { description: 'x' } });
    expect(missing.status).toBe(400);
    const wrongType = await callApi('/v1/sessions', { method: 'POST', key: anyone.key, headers: { 'Content-Type': 'text/plain' }, body: 'suite_id=x' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json).toMatchObject({ error: { code: 'bad_request' } });
    expect(await sessionRowsOf(anyone.userId)).toBe(0);
    expect(await sessionRowsOf(user.userId)).toBe(0);
  });
});

describe('POST /v1/sessions/{id}/upload', () => {
  it('gives an invalid session a fresh URL; the retry becomes ready, and a write through the old URL counts no more', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    await put(session.upload.url, 'not a trace\n');
    const invalid = await waitUntilIndexed(user, session.id);
    expect(invalid).toMatchObject({ status: 'invalid', validation_errors: [{ line: 0 }] });

    const retry = await callApi(`/v1/sessions/${session.id}/upload`, { method: 'POST', key: user.key });
    expect(retry.status, retry.text).toBe(200);
    const renewed = retry.json as SessionBody & { upload: { url: string } };
    expect(renewed).toMatchObject({ id: session.id, status: 'awaiting_upload', validation_errors: [], size_bytes: null, sha256: null });
    expect(new URL(renewed.upload.url).pathname).toMatch(new RegExp(`/uploads/${session.id}/2/upload$`));

    await put(session.upload.url, SMALL); // the first URL, still unexpired: ignored and deleted
    await eventually('the old URL\'s upload to be deleted', async () =>
      (await uploadNames(`${session.id}/1/`)).length === 0 ? true : undefined,
    );
    expect((await getSessionViaApi(user, session.id)).json).toMatchObject({ status: 'awaiting_upload' });
    await put(renewed.upload.url, SMALL);
    expect(await waitUntilIndexed(user, session.id)).toMatchObject({ status: 'ready', event_count: 4, sha256: sha256(SMALL) });
  });

  it('takes the next upload\'s format and file name, answers 409 once ready, 404 for another user\'s session', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    const renewed = await callApi(`/v1/sessions/${session.id}/upload`, {
      method: 'POST',
      key: user.key,
      body: { format: 'recorder-jsonl', file_name: 'take-2.jsonl', skip_invalid_lines: true },
    });
    expect(renewed.status, renewed.text).toBe(200);
    expect(renewed.json).toMatchObject({ file_name: 'take-2.jsonl', skip_invalid_lines: true });
    const { upload } = renewed.json as { upload: { url: string } };
    expect(new URL(upload.url).pathname).toMatch(/\/2\/take-2\.jsonl$/);
    await put(upload.url, `${SMALL}garbage\n`);
    expect(await waitUntilIndexed(user, session.id)).toMatchObject({ status: 'ready', event_count: 4, skipped_event_count: 1 });

    const again = await callApi(`/v1/sessions/${session.id}/upload`, { method: 'POST', key: user.key });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ error: { code: 'conflict', details: { session_status: 'ready' } } });
    const stranger = await createTestUser();
    expect((await callApi(`/v1/sessions/${session.id}/upload`, { method: 'POST', key: stranger.key })).status).toBe(404);
    const bad = await callApi(`/v1/sessions/${session.id}/upload`, { method: 'POST', key: user.key, body: { format: 'nope' } });
    expect(bad.status).toBe(422);
  });
});

describe('POST /v1/sessions/{id}/upload with renew', () => {
  it('signs the same staging blob again, so blocks staged through the first URL are committed through the second', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    const blockId = Buffer.from('block-000000').toString('base64');
    await new BlockBlobClient(session.upload.url).stageBlock(blockId, Buffer.from(SMALL), Buffer.byteLength(SMALL));

    const renewed = await callApi(`/v1/sessions/${session.id}/upload`, { method: 'POST', key: user.key, body: { renew: true } });
    expect(renewed.status, renewed.text).toBe(200);
    const { upload } = renewed.json as { upload: { url: string } };
    expect(new URL(upload.url).pathname).toBe(new URL(session.upload.url).pathname);
    await new BlockBlobClient(upload.url).commitBlockList([blockId]);
    expect(await waitUntilIndexed(user, session.id)).toMatchObject({ status: 'ready', event_count: 4, sha256: sha256(SMALL) });

    const late = await callApi(`/v1/sessions/${session.id}/upload`, { method: 'POST', key: user.key, body: { renew: true } });
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ error: { code: 'conflict', details: { session_status: 'ready' } } });
  });

  it('keeps the upload as it is: a new file name with renew is 422, another user\'s session 404', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    const changed = await callApi(`/v1/sessions/${session.id}/upload`, {
      method: 'POST',
      key: user.key,
      body: { renew: true, file_name: 'other.jsonl' },
    });
    expect(changed.status).toBe(422);
    expect(changed.json).toMatchObject({ error: { code: 'validation_error', details: { fields: [{ field: 'file_name' }] } } });
    expect((await getSessionViaApi(user, session.id)).json).toMatchObject({ status: 'awaiting_upload', file_name: session.file_name });
    const stranger = await createTestUser();
    expect((await callApi(`/v1/sessions/${session.id}/upload`, { method: 'POST', key: stranger.key, body: { renew: true } })).status).toBe(404);
  });
});

describe('POST /v1/sessions (multipart/form-data)', () => {
  it.each([
    ['fields before the file', (file: FormPart) => [{ name: 'suite_id', value: GMAIL_SUITE_ID }, { name: 'description', value: 'multipart' }, file]],
    ['the file before the fields', (file: FormPart) => [file, { name: 'description', value: 'multipart' }, { name: 'suite_id', value: GMAIL_SUITE_ID }]],
  ])('streams the file to staging with %s; the session is processing, then ready', async (_order, partsFor) => {
    const user = await createTestUser();
    const response = await postSessionMultipart(user, partsFor(fileFor(RECORDER)));
    expect(response.status, response.text).toBe(201);
    const session = response.json as SessionBody;
    expect(session).toMatchObject({ suite_id: GMAIL_SUITE_ID, description: 'multipart', status: 'processing', file_name: 'recording.jsonl' });
    expect(session).not.toHaveProperty('upload');
    expect(await waitUntilIndexed(user, session.id)).toMatchObject({ status: 'ready', sha256: sha256(RECORDER), event_count: RECORDER_LINES.length });
    expect(sha256(await canonical(session.id))).toBe(sha256(RECORDER));
  });

  it('takes format and skip_invalid_lines as fields, and a file name that is not safe as a safe one', async () => {
    const user = await createTestUser();
    const response = await postSessionMultipart(user, [
      { name: 'suite_id', value: GMAIL_SUITE_ID },
      { name: 'format', value: 'recorder-jsonl' },
      { name: 'skip_invalid_lines', value: 'true' },
      fileFor(`${SMALL}{"broken"\n`, 'my trace (1).jsonl'),
    ]);
    expect(response.status, response.text).toBe(201);
    const session = response.json as SessionBody;
    expect(session).toMatchObject({ file_name: 'my_trace__1_.jsonl', skip_invalid_lines: true });
    expect(await waitUntilIndexed(user, session.id)).toMatchObject({
      status: 'ready',
      format: 'recorder-jsonl',
      event_count: 4,
      skipped_event_count: 1,
      validation_errors: [{ line: 5, message: expect.stringMatching(/^The line is not valid JSON/) }],
      files: { original: `sessions/${session.id}/original/my_trace__1_.jsonl` },
    });
    const refused = await postSessionMultipart(user, [{ name: 'suite_id', value: GMAIL_SUITE_ID }, { name: 'format', value: 'csv' }, fileFor(SMALL)]);
    expect(refused.status).toBe(422);
  });

  it('streams a file of several blocks', async () => {
    const user = await createTestUser();
    const line = `${JSON.stringify({ timestamp: '2026-01-06T20:30:01.000000+00:00', action: 'mousemove', additional_info: { pad: 'x'.repeat(1000) } })}\n`;
    const data = Buffer.from(line.repeat(10_000)); // ~10 MB: three 4 MiB blocks
    const response = await postSessionMultipart(user, [{ name: 'suite_id', value: GMAIL_SUITE_ID }, fileFor(data)]);
    expect(response.status, response.text).toBe(201);
    const id = (response.json as SessionBody).id;
    expect(await waitUntilIndexed(user, id)).toMatchObject({ status: 'ready', size_bytes: data.length, sha256: sha256(data), event_count: 10_000 });
  });

  it('answers 413 over the limit and leaves no blob and no row behind', async () => {
    const user = await createTestUser();
    const before = new Set(await uploadNames());
    const limit = 100 * 1024 * 1024;
    const line = Buffer.from(`${recorderLine(1)}${' '.repeat(900)}\n`);
    const big = Buffer.alloc(limit + line.length);
    for (let offset = 0; offset < big.length; offset += line.length) line.copy(big, offset);
    const response = await postSessionMultipart(user, [{ name: 'suite_id', value: GMAIL_SUITE_ID }, fileFor(big)]);
    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({ error: { code: 'payload_too_large', details: { max_bytes: limit } } });
    expect(await sessionRowsOf(user.userId)).toBe(0);
    expect((await uploadNames()).filter((name) => !before.has(name))).toEqual([]);
  });

  it('answers 400 without the file or the suite, 422 for a suite that does not exist, 403 outside the key', async () => {
    const user = await createTestUser();
    const noFile = await postSessionMultipart(user, [{ name: 'suite_id', value: GMAIL_SUITE_ID }]);
    expect(noFile.status).toBe(400);
    expect(noFile.json).toMatchObject({ error: { code: 'bad_request', message: 'The form has no file "input_events".' } });
    const noSuite = await postSessionMultipart(user, [fileFor(SMALL)]);
    expect(noSuite.status).toBe(400);
    expect(noSuite.json).toMatchObject({ error: { code: 'bad_request', details: { fields: [{ field: 'suite_id' }] } } });
    for (const parts of [
      [{ name: 'suite_id', value: randomUUID() }, fileFor(SMALL)],
      [fileFor(SMALL), { name: 'suite_id', value: randomUUID() }],
    ]) {
      const unknown = await postSessionMultipart(user, parts);
      expect(unknown.status).toBe(422);
      expect(unknown.json).toMatchObject({ error: { code: 'validation_error', details: { fields: [{ field: 'suite_id' }] } } });
    }
    const limited = await createTestUser({ suiteIds: [GITHUB_SUITE_ID] });
    expect((await postSessionMultipart(limited, [fileFor(SMALL), { name: 'suite_id', value: GMAIL_SUITE_ID }])).status).toBe(403);
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

describe('the indexer, beyond the upload', () => {
  it('deletes an upload that no session has', async () => {
    const orphan = uploadsContainer.getBlockBlobClient(`${randomUUID()}/1/input_events.jsonl`);
    await orphan.upload(SMALL, Buffer.byteLength(SMALL));
    const stray = uploadsContainer.getBlockBlobClient('not-a-session/whatever.bin');
    await stray.upload('x', 1);
    await eventually('the orphan uploads to be deleted', async () =>
      (await orphan.exists()) || (await stray.exists()) ? undefined : true,
    );
  });

  it('refuses an upload over the maximum size, or not a block blob, and deletes it', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    const indexer = await privateIndexer(db, blobs, { maxBytes: { url: 10, multipart: 10, inline: 10 } });
    try {
      const blob = indexer.uploads.getBlockBlobClient(stagingNameOf(session));
      await blob.upload(SMALL, Buffer.byteLength(SMALL));
      expect(await indexSessionUpload(indexer.deps, blob.name)).toMatchObject({ outcome: 'invalid' });
      expect(await blob.exists()).toBe(false);
      expect((await getSessionViaApi(user, session.id)).json).toMatchObject({
        status: 'invalid',
        size_bytes: Buffer.byteLength(SMALL),
        files: null,
        validation_errors: [{ line: 0, message: expect.stringMatching(/limit is 10\. It has been deleted\./) }],
      });
      expect(await sessionBlobNames(indexer.sessions, session.id)).toEqual([]);

      const other = await createSessionViaApi(user);
      const append = indexer.uploads.getAppendBlobClient(stagingNameOf(other));
      await append.create();
      await append.appendBlock('{}\n', 3);
      expect(await indexSessionUpload({ ...indexer.deps, maxBytes: { url: 1e9, multipart: 1e9, inline: 1e9 } }, append.name)).toMatchObject({ outcome: 'invalid' });
      expect(await append.exists()).toBe(false);
      expect((await getSessionViaApi(user, other.id)).json).toMatchObject({
        status: 'invalid',
        validation_errors: [{ line: 0, message: expect.stringContaining('append blob') }],
      });
    } finally {
      await indexer.dispose();
    }
  });
});

describe('sessions stuck in processing', () => {
  it('indexes one whose upload is there, marks one without an upload invalid, and leaves recent ones alone', async () => {
    const user = await createTestUser();
    const indexer = await privateIndexer(db, blobs);
    try {
      const [withBlob, withoutBlob, recent] = await Promise.all(
        [0, 1, 2].map(() => createSessionRow(user.userId, GMAIL_SUITE_ID, 'processing')),
      );
      await indexer.uploads.getBlockBlobClient(`${withBlob}/1/input_events.jsonl`).upload(SMALL, Buffer.byteLength(SMALL)); // the row's default file name
      await db
        .updateTable('sessions')
        .set({ updated_at: new Date(Date.now() - 2 * 3600_000) })
        .where('id', 'in', [withBlob as string, withoutBlob as string])
        .execute();

      const settled = await settleStaleUploads(indexer.deps);
      expect(settled).toEqual(
        expect.arrayContaining([
          { sessionId: withBlob, outcome: 'ready' },
          { sessionId: withoutBlob, outcome: 'abandoned' },
        ]),
      );
      expect(settled.map((entry) => entry.sessionId)).not.toContain(recent);
      expect((await getSessionViaApi(user, withBlob as string)).json).toMatchObject({ status: 'ready', event_count: 4 });
      expect((await getSessionViaApi(user, withoutBlob as string)).json).toMatchObject({
        status: 'invalid',
        size_bytes: null,
        validation_errors: [{ line: 0, message: 'The upload did not complete; nothing is stored. Upload again.' }],
      });
      expect((await getSessionViaApi(user, recent as string)).json).toMatchObject({ status: 'processing' });
      const again = (await settleStaleUploads(indexer.deps)).map((entry) => entry.sessionId);
      expect(again).not.toContain(withBlob);
      expect(again).not.toContain(withoutBlob);
    } finally {
      await indexer.dispose();
    }
  });
});

describe('GET /v1/sessions and /v1/sessions/{id}', () => {
  it('lists your sessions newest first, by suite, a page at a time', async () => {
    const user = await createTestUser();
    const a = await createSessionViaApi(user, { suite_id: GMAIL_SUITE_ID });
    const b = await createSessionViaApi(user, { suite_id: GITHUB_SUITE_ID });
    const c = await createSessionViaApi(user, { suite_id: GMAIL_SUITE_ID });
    const all = await callApi('/v1/sessions', { key: user.key });
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ total: 3, page: 1, per_page: 20 });
    expect((all.json as { items: SessionBody[] }).items.map((s) => s.id)).toEqual([c.id, b.id, a.id]);
    expect((all.json as { items: SessionBody[] }).items[0]).not.toHaveProperty('upload');
    const gmail = await callApi(`/v1/sessions?suite_id=${GMAIL_SUITE_ID}`, { key: user.key });
    expect((gmail.json as { items: SessionBody[] }).items.map((s) => s.id)).toEqual([c.id, a.id]);
    const page2 = await callApi('/v1/sessions?per_page=1&page=2', { key: user.key });
    expect(page2.json).toMatchObject({ total: 3, page: 2, per_page: 1, items: [{ id: b.id }] });
    expect((await callApi('/v1/sessions?per_page=101', { key: user.key })).status).toBe(422);
    expect((await callApi('/v1/sessions?suite_id=nope', { key: user.key })).status).toBe(422);
  });

  it("answers 404 for another user's session and never lists it", async () => {
    const owner = await createTestUser();
    const stranger = await createTestUser();
    const session = await createSessionViaApi(owner);
    expect((await getSessionViaApi(owner, session.id)).status).toBe(200);
    const response: ApiResponse = await getSessionViaApi(stranger, session.id);
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ error: { code: 'not_found' } });
    expect((await getSessionViaApi(stranger, randomUUID())).json).toEqual(response.json);
    expect((await callApi('/v1/sessions', { key: stranger.key })).json).toMatchObject({ total: 0, items: [] });
  });

  it("shows a suite-limited key only its suites' sessions", async () => {
    const user = await createTestUser();
    const gmail = await createSessionViaApi(user, { suite_id: GMAIL_SUITE_ID });
    const github = await createSessionViaApi(user, { suite_id: GITHUB_SUITE_ID });
    const limited = await addKey(user.userId, [GITHUB_SUITE_ID]);
    expect((await getSessionViaApi(limited, gmail.id)).status).toBe(404);
    expect((await getSessionViaApi(limited, github.id)).status).toBe(200);
    const list = await callApi('/v1/sessions', { key: limited.key });
    expect(list.json).toMatchObject({ total: 1, items: [{ id: github.id }] });
    const filtered = await callApi(`/v1/sessions?suite_id=${GMAIL_SUITE_ID}`, { key: limited.key });
    expect(filtered.json).toMatchObject({ total: 0, items: [] });
    // A key limited to no suite cannot exist: the database refuses an empty list (migration 0013).
    await expect(addKey(user.userId, [])).rejects.toMatchObject({
      code: '23514',
      constraint: 'api_keys_suite_ids_non_empty',
    });
  });

  it('answers 422 for a malformed id', async () => {
    const user = await createTestUser();
    const response = await getSessionViaApi(user, 'not-a-uuid');
    expect(response.status).toBe(422);
    expect(response.json).toMatchObject({ error: { code: 'validation_error', details: { fields: [{ field: 'id' }] } } });
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const doc = (await callApi('/v1/openapi.json', { key: null })).json as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths['/v1/sessions']?.post?.requestBody?.content ?? {})).toEqual(['application/json', 'multipart/form-data']);
    expect(doc.paths['/v1/sessions/{id}']?.get).toBeDefined();
    expect(doc.paths['/v1/sessions/{id}/upload']?.post).toBeDefined();
    expect(doc.components.schemas).toHaveProperty('Session');
    expect(doc.components.schemas).toHaveProperty('SessionUpload');
  });
});
