import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient, BlockBlobClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { createExampleViaApi, GPT_4O, TRAINING_MESSAGES } from '../support/examples.js';
import { callApi } from '../support/http.js';
import { blobsOf, createSessionViaApi, eventually, getSessionViaApi, uploadAndIndex, type SessionBody } from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';

/**
 * DELETE /v1/sessions/{id} and DELETE /v1/examples/{id} over HTTP: the files in storage, the rows afterwards, and
 * the refusals that change nothing.
 */

const db = useApiDatabaseClient();
const sample = (name: string) => readFileSync(join(PROJECT_ROOT, 'test/fixtures/samples', name));
let blobs: BlobServiceClient;

beforeAll(() => {
  blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
});

async function sessionRow(id: string) {
  const { rows } = await db.query<{ status: string; deleted_at: Date | null; purged_at: Date | null; stored_bytes: number; event_count: number }>(
    'select status, deleted_at, purged_at, stored_bytes::int, event_count::int from sessions where id = $1',
    [id],
  );
  return rows[0];
}

async function exampleRow(id: string) {
  const { rows } = await db.query<{ status: string; deleted_at: Date | null; purged_at: Date | null; outbox: boolean }>(
    `select status, deleted_at, purged_at, exists (select 1 from example_job_outbox o where o.example_id = e.id) as outbox
     from examples e where id = $1`,
    [id],
  );
  return rows[0];
}

const deleteSession = (user: TestUser, id: string, query = '') => callApi(`/v1/sessions/${id}${query}`, { method: 'DELETE', key: user.key });
const deleteExample = (user: TestUser, id: string) => callApi(`/v1/examples/${id}`, { method: 'DELETE', key: user.key });

/** An example of the user's on an indexed session of theirs, with its messages file in storage. */
async function exampleWithMessages(user: TestUser, sessionId: string): Promise<string> {
  const created = await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: sessionId, model_id: GPT_4O } });
  expect(created.status, created.text).toBe(201);
  const id = (created.json as { id: string }).id;
  const body = `${TRAINING_MESSAGES.map((line) => JSON.stringify(line)).join('\n')}\n`;
  await blobs.getContainerClient('examples').getBlockBlobClient(`${id}/messages.jsonl`).upload(body, Buffer.byteLength(body));
  return id;
}

describe('DELETE /v1/sessions/{id}', () => {
  it('removes the trace, its original and staging, keeps the row as deleted with its metadata, and is 204 again', async () => {
    const user = await createTestUser();
    const session = await uploadAndIndex(sample('chrome-trace-small.json'), { file_name: 'trace.json' }, user);
    expect(session.files?.original).not.toBeNull();
    expect((await blobsOf(blobs, session.id)).filter((name) => name.startsWith('sessions/'))).toEqual([
      `sessions/${session.id}/input_events.jsonl`,
      `sessions/${session.id}/original/trace.json`,
    ]);

    const deleted = await deleteSession(user, session.id);
    expect(deleted.status, deleted.text).toBe(204);
    expect(deleted.text).toBe('');
    expect(await blobsOf(blobs, session.id)).toEqual([]);
    expect(await sessionRow(session.id)).toMatchObject({ status: 'deleted', stored_bytes: 0, event_count: session.event_count });
    expect((await sessionRow(session.id))?.purged_at).toBeInstanceOf(Date);

    const read = (await getSessionViaApi(user, session.id)).json as SessionBody & { deleted_at: string };
    expect(read).toMatchObject({ status: 'deleted', event_count: session.event_count, sha256: session.sha256, files: null });
    expect(Date.parse(read.deleted_at)).not.toBeNaN();
    const listed = (await callApi('/v1/sessions', { key: user.key })).json as { items: SessionBody[]; total: number };
    expect(listed.items.map((item) => item.id)).not.toContain(session.id);
    const all = (await callApi('/v1/sessions?include_deleted=true', { key: user.key })).json as { items: SessionBody[] };
    expect(all.items.find((item) => item.id === session.id)?.status).toBe('deleted');

    const first = (await sessionRow(session.id))?.deleted_at;
    const again = await deleteSession(user, session.id);
    expect(again.status).toBe(204);
    expect((await sessionRow(session.id))?.deleted_at).toEqual(first);
  });

  it('is 409 while examples exist, changing nothing; with cascade=true it deletes them and their messages', async () => {
    const user = await createTestUser();
    const session = await uploadAndIndex(sample('rrweb-session.json'), {}, user);
    const exampleId = await exampleWithMessages(user, session.id);

    const refused = await deleteSession(user, session.id);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: { code: 'conflict', details: { reason: 'session_has_examples', example_count: 1 } } });
    expect((await sessionRow(session.id))?.status).toBe('ready');
    expect(await blobsOf(blobs, exampleId)).toEqual([`examples/${exampleId}/messages.jsonl`]);

    expect((await deleteSession(user, session.id, '?cascade=true')).status).toBe(204);
    expect(await blobsOf(blobs, session.id)).toEqual([]);
    expect(await blobsOf(blobs, exampleId)).toEqual([]);
    expect(await exampleRow(exampleId)).toMatchObject({ status: 'PENDING', outbox: false });
    expect((await exampleRow(exampleId))?.deleted_at).toBeInstanceOf(Date);
    const example = await callApi(`/v1/examples/${exampleId}`, { key: user.key });
    expect(example.json).toMatchObject({ id: exampleId, deleted_at: expect.any(String) });
    expect((await callApi(`/v1/examples/${exampleId}/messages`, { key: user.key })).status).toBe(409);
    const listed = (await callApi(`/v1/examples?session_id=${session.id}`, { key: user.key })).json as { total: number };
    expect(listed.total).toBe(0);
    const withDeleted = (await callApi(`/v1/examples?session_id=${session.id}&include_deleted=true`, { key: user.key })).json as { total: number };
    expect(withDeleted.total).toBe(1);
  });

  it('is 409 while an example of it is being processed, even with cascade, and while the session is indexed', async () => {
    const user = await createTestUser();
    const example = await createExampleViaApi(user);
    await db.query(`update examples set status = 'PROCESSING' where id = $1`, [example.id]);
    const refused = await deleteSession(user, example.session_id, '?cascade=true');
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: { details: { reason: 'example_processing', example_ids: [example.id] } } });
    expect((await sessionRow(example.session_id))?.status).toBe('ready');
    expect((await exampleRow(example.id))?.deleted_at).toBeNull();
    expect((await deleteExample(user, example.id)).status).toBe(409);

    const processing = await callApi('/v1/sessions', { method: 'POST', key: user.key, body: { suite_id: GMAIL_SUITE_ID } });
    const id = (processing.json as { id: string }).id;
    await db.query(`update sessions set status = 'processing' where id = $1`, [id]);
    expect((await deleteSession(user, id)).json).toMatchObject({ error: { code: 'conflict', details: { session_status: 'processing' } } });
  });

  it("is 404 for someone else's session or example, and for a key limited to other suites, changing nothing", async () => {
    const owner = await createTestUser();
    const other = await createTestUser();
    const example = await createExampleViaApi(owner);
    expect((await deleteSession(other, example.session_id, '?cascade=true')).status).toBe(404);
    expect((await deleteExample(other, example.id)).status).toBe(404);
    const limited = await createTestUser({ suiteIds: ['00000000-0000-4000-8000-0000000002ff'] });
    await db.query('update api_keys set user_id = $1 where id = $2', [owner.userId, limited.apiKeyId]);
    expect((await deleteExample(limited, example.id)).status).toBe(404);
    expect((await sessionRow(example.session_id))?.status).toBe('ready');
    expect((await exampleRow(example.id))?.deleted_at).toBeNull();
    expect((await callApi('/v1/sessions/not-a-uuid', { method: 'DELETE', key: owner.key })).status).toBe(422);
  });

  it('deletes a session awaiting its upload, and an upload that arrives afterwards is removed unread', async () => {
    const user = await createTestUser();
    const session = await createSessionViaApi(user);
    expect((await deleteSession(user, session.id)).status).toBe(204);
    const late = sample('recorder-session.jsonl');
    await new BlockBlobClient(session.upload.url).upload(late, late.length);
    await eventually('the late upload to be removed', async () => ((await blobsOf(blobs, session.id)).length === 0 ? true : undefined));
    expect((await sessionRow(session.id))?.status).toBe('deleted');
  });
});

describe('DELETE /v1/examples/{id}', () => {
  it('removes its messages, keeps its status and usage, and a pipelines report for it afterwards is refused', async () => {
    const user = await createTestUser();
    const session = await uploadAndIndex(sample('recorder-session.jsonl'), {}, user);
    const exampleId = await exampleWithMessages(user, session.id);
    // Its files as the storage sampler's listing recorded them: they stop counting with the deletion.
    await db.query(
      `insert into stored_objects (user_id, kind, object_id, bytes, stored_from) values ($1, 'example', $2, 1000, now() - interval '2 hours')`,
      [user.userId, exampleId],
    );
    expect((await deleteExample(user, exampleId)).status).toBe(204);
    expect(await blobsOf(blobs, exampleId)).toEqual([]);
    const { rows: intervals } = await db.query<{ open: boolean }>(
      `select stored_until is null as open from stored_objects where kind = 'example' and object_id = $1`,
      [exampleId],
    );
    expect(intervals).toEqual([{ open: false }]);
    expect(await exampleRow(exampleId)).toMatchObject({ status: 'PENDING', outbox: false });
    expect((await deleteExample(user, exampleId)).status).toBe(204);

    // The job was on the queue already: the pipelines service writes its result and reports.
    const body = `${JSON.stringify(TRAINING_MESSAGES[0])}\n`;
    await blobs.getContainerClient('examples').getBlockBlobClient(`${exampleId}/messages.jsonl`).upload(body, body.length);
    const pipeline = await createTestUser({ scopes: ['pipeline'] });
    const report = await callApi(`/v1/pipeline/examples/${exampleId}`, { method: 'PATCH', key: pipeline.key, body: { status: 'PROCESSING' } });
    expect(report.status).toBe(409);
    expect(report.json).toMatchObject({ error: { details: { reason: 'example_deleted' } } });
    expect(await blobsOf(blobs, exampleId)).toEqual([]);
    expect((await exampleRow(exampleId))?.status).toBe('PENDING');
    // The session has no live example left, so it can go without cascade.
    expect((await deleteSession(user, session.id)).status).toBe(204);
  });
});
