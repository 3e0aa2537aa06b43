import { createHash } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { buildDataset } from '../../shared/datasets/datasetBuilder.js';
import { createDatabase } from '../../shared/db/database.js';
import { GITHUB_SUITE_ID, GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { addStoredExample, buildDatasetViaApi, gmailConversation, jsonl, waitForDataset, type DatasetBody } from '../support/datasets.js';
import { createExampleViaApi } from '../support/examples.js';
import { callApi } from '../support/http.js';
import { createTestUser, type TestUser } from '../support/users.js';

const db = useApiDatabaseClient();
const blobs = () => BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
const datasetBlob = (id: string, file: string) => blobs().getContainerClient('datasets').getBlockBlobClient(`${id}/${file}`);

async function fileText(key: string, dataset: DatasetBody, file: 'train.jsonl' | 'validation.jsonl') {
  const response = await callApi(`/v1/datasets/${dataset.id}/files/${file}`, { key });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('application/jsonl');
  return response.text;
}

const linesOf = (text: string) => (text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as { messages: Array<{ role: string; content: string | null }> }));
const userTextOf = (record: { messages: Array<{ role: string; content: string | null }> }) => record.messages.find((m) => m.role === 'user')?.content;

describe('building a dataset', () => {
  let owner: TestUser;

  beforeAll(async () => {
    owner = await createTestUser();
    // Twelve distinct Gmail conversations, two of them again (another call id, other spacing), one of another suite.
    for (let n = 1; n <= 12; n++) await addStoredExample(owner, gmailConversation(n));
    await addStoredExample(owner, gmailConversation(3, { callId: 'call_77', spacing: '   ' }));
    await addStoredExample(owner, gmailConversation(9, { callId: 'other' }));
    await addStoredExample(owner, [{ role: 'user', content: 'Open an issue.' }, { role: 'assistant', content: 'Opened.' }], GITHUB_SUITE_ID);
  });

  it('writes the matching examples, deduplicated and split by the seed, with counts, digests and a lint report', async () => {
    const dataset = await buildDatasetViaApi(owner.key, {
      name: 'gmail v1',
      suite_id: GMAIL_SUITE_ID,
      format: 'openai',
      validation_split: 0.25,
      seed: 7,
    });
    expect(dataset.status).toBe('ready');
    expect(dataset.counts).toEqual({ matched: 14, duplicates: 2, skipped: 0, train: 9, validation: 3 });

    const train = await fileText(owner.key, dataset, 'train.jsonl');
    const validation = await fileText(owner.key, dataset, 'validation.jsonl');
    for (const [file, text] of [['train', train], ['validation', validation]] as const) {
      expect(dataset.files?.[file]).toMatchObject({
        size_bytes: Buffer.byteLength(text),
        sha256: createHash('sha256').update(text).digest('hex'),
        example_count: linesOf(text).length,
        url: `/v1/datasets/${dataset.id}/files/${file}.jsonl`,
      });
    }
    const records = [...linesOf(train), ...linesOf(validation)];
    expect(records).toHaveLength(12);
    // One line per conversation, each in OpenAI's format with the map's tools.
    expect(new Set(records.map(userTextOf)).size).toBe(12);
    expect(records.every((record) => Array.isArray((record as unknown as { tools: unknown[] }).tools))).toBe(true);

    // The lint report: OpenAI needs 10 training examples and recommends 50.
    expect(dataset.lint?.format).toBe('openai');
    expect(dataset.lint?.errors.map((finding) => finding.rule)).toEqual(['openai.min_examples']);
    expect(dataset.lint?.warnings.map((finding) => finding.rule)).toEqual(['openai.recommended_examples']);
    expect(dataset.lint?.rules_checked).toContain('openai.tool_defined');

    // The older examples were digested on the way; the work list is gone.
    const digests = await db.query('select count(*)::int as n from examples where user_id = $1 and conversation_sha256 is null', [owner.userId]);
    expect(digests.rows[0].n).toBe(1); // the GitHub example, outside the filter
    expect((await db.query('select count(*)::int as n from dataset_examples where dataset_id = $1', [dataset.id])).rows[0].n).toBe(0);

    // The same seed gives the same files; another seed another order.
    const again = await buildDatasetViaApi(owner.key, { name: 'again', suite_id: GMAIL_SUITE_ID, format: 'openai', validation_split: 0.25, seed: 7 });
    expect(again.files?.train.sha256).toBe(dataset.files?.train.sha256);
    expect(again.files?.validation.sha256).toBe(dataset.files?.validation.sha256);
    const reseeded = await buildDatasetViaApi(owner.key, { name: 'reseeded', suite_id: GMAIL_SUITE_ID, format: 'openai', validation_split: 0.25, seed: 8 });
    expect(reseeded.files?.train.sha256).not.toBe(dataset.files?.train.sha256);
    expect(reseeded.counts).toEqual(dataset.counts);
  });

  it('keeps duplicates without dedupe, and writes every format', async () => {
    const all = await buildDatasetViaApi(owner.key, { name: 'all', format: 'vertex', dedupe: false });
    expect(all.counts).toEqual({ matched: 15, duplicates: 0, skipped: 0, train: 15, validation: 0 });
    const vertex = linesOf(await fileText(owner.key, all, 'train.jsonl')) as unknown as Array<{ contents: unknown[]; tools: unknown[] }>;
    expect(vertex.every((record) => Array.isArray(record.contents) && Array.isArray(record.tools))).toBe(true);
    expect(await fileText(owner.key, all, 'validation.jsonl')).toBe('');
    expect(all.files?.validation).toMatchObject({ size_bytes: 0, example_count: 0 });

    const anthropic = await buildDatasetViaApi(owner.key, { name: 'claude', suite_id: GMAIL_SUITE_ID, format: 'anthropic', seed: 1 });
    const [first] = linesOf(await fileText(owner.key, anthropic, 'train.jsonl')) as unknown as Array<{ system: string; messages: unknown[] }>;
    expect(first?.system).toBe('You operate Gmail through tools.');
    expect(anthropic.lint?.warnings.map((finding) => finding.rule)).toContain('anthropic.bedrock_keys');
  });

  it('answers a read-only link to a file, and streams nothing of a dataset that is not ready', async () => {
    const dataset = await buildDatasetViaApi(owner.key, { name: 'linked', suite_id: GMAIL_SUITE_ID, format: 'trl' });
    const response = await callApi(`/v1/datasets/${dataset.id}/files/train.jsonl?download=url`, { key: owner.key });
    expect(response.status).toBe(200);
    const link = response.json as { url: string; size_bytes: number; expires_at: string };
    expect(new URL(link.url).searchParams.get('sp')).toBe('r');
    const read = await fetch(link.url);
    expect(await read.text()).toBe(await fileText(owner.key, dataset, 'train.jsonl'));
    expect(link.size_bytes).toBe(dataset.files?.train.size_bytes);

    const { rows } = await db.query(
      `insert into datasets (user_id, name, format, seed, heartbeat_at) values ($1, 'stuck', 'openai', 1, now()) returning id`,
      [owner.userId],
    );
    const building = rows[0].id as string;
    expect((await callApi(`/v1/datasets/${building}/files/train.jsonl`, { key: owner.key })).json).toMatchObject({
      error: { code: 'conflict', details: { status: 'building' } },
    });
    expect((await callApi(`/v1/datasets/${dataset.id}/files/other.jsonl`, { key: owner.key })).status).toBe(422);
    await db.query('delete from datasets where id = $1', [building]);
  });

  it('counts examples completed through the pipelines as the API completes them', async () => {
    const user = await createTestUser();
    const pipeline = await createTestUser({ scopes: ['api', 'pipeline'] });
    for (const conversation of [gmailConversation(1), gmailConversation(1, { callId: 'again' }), gmailConversation(2)]) {
      const example = await createExampleViaApi(user);
      const text = jsonl(conversation);
      await blobs().getContainerClient('examples').getBlockBlobClient(`${example.id}/messages.jsonl`).upload(text, Buffer.byteLength(text));
      for (const status of ['PROCESSING', 'COMPLETED']) {
        const report = await callApi(`/v1/pipeline/examples/${example.id}`, {
          method: 'PATCH',
          key: pipeline.key,
          body: { status, usage: { input_tokens: 1, output_tokens: 1 } },
        });
        expect(report.status).toBe(200);
      }
    }
    const dataset = await buildDatasetViaApi(user.key, { name: 'api', format: 'openai' });
    expect(dataset.counts).toMatchObject({ matched: 3, duplicates: 1, train: 2 });
  });
});

describe('what a dataset sees', () => {
  it('sees nothing of another user\'s examples, nor of suites outside a limited key', async () => {
    const owner = await createTestUser();
    const stranger = await createTestUser();
    await addStoredExample(stranger, gmailConversation(1));
    const theirSession = (await db.query('select session_id from examples where user_id = $1', [stranger.userId])).rows[0].session_id;
    await addStoredExample(owner, gmailConversation(2));
    await addStoredExample(owner, [{ role: 'user', content: 'Open an issue.' }, { role: 'assistant', content: 'Opened.' }], GITHUB_SUITE_ID);

    const byTheirSession = await buildDatasetViaApi(owner.key, { name: 'theirs', format: 'openai', session_ids: [theirSession] });
    expect(byTheirSession.counts).toMatchObject({ matched: 0, train: 0 });

    const limited = await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: { suite_ids: [GITHUB_SUITE_ID] } });
    const key = (limited.json as { key: string }).key;
    const github = await buildDatasetViaApi(key, { name: 'github only', format: 'trl' });
    expect(github.counts).toMatchObject({ matched: 1, train: 1 });
    expect(userTextOf(linesOf(await fileText(key, github, 'train.jsonl'))[0]!)).toBe('Open an issue.');
    expect((await callApi('/v1/datasets', { method: 'POST', key, body: { name: 'x', format: 'openai', suite_id: GMAIL_SUITE_ID } })).status).toBe(403);

    expect((await callApi(`/v1/datasets/${github.id}`, { key: stranger.key })).status).toBe(404);
    expect((await callApi(`/v1/datasets/${github.id}/files/train.jsonl`, { key: stranger.key })).status).toBe(404);
    expect((await callApi(`/v1/datasets/${github.id}`, { method: 'DELETE', key: stranger.key })).status).toBe(404);
    const list = (await callApi('/v1/datasets', { key: stranger.key })).json as { items: unknown[]; total: number };
    expect(list).toMatchObject({ items: [], total: 0 });
  });

  it('is ready and empty when nothing matches, with the lint report saying so', async () => {
    const user = await createTestUser();
    const dataset = await buildDatasetViaApi(user.key, { name: 'empty', format: 'vertex', validation_split: 0.5 });
    expect(dataset.status).toBe('ready');
    expect(dataset.counts).toEqual({ matched: 0, duplicates: 0, skipped: 0, train: 0, validation: 0 });
    expect(await fileText(user.key, dataset, 'train.jsonl')).toBe('');
    expect(dataset.files?.train.sha256).toBe(createHash('sha256').update('').digest('hex'));
    expect(dataset.lint?.errors.map((finding) => finding.rule)).toContain('vertex.min_examples');
  });

  it('leaves out an example whose messages are gone, and reports it', async () => {
    const user = await createTestUser();
    await addStoredExample(user, gmailConversation(1));
    const gone = await addStoredExample(user, gmailConversation(2));
    await blobs().getContainerClient('examples').getBlobClient(`${gone}/messages.jsonl`).delete();
    const dataset = await buildDatasetViaApi(user.key, { name: 'holes', format: 'openai' });
    expect(dataset.counts).toMatchObject({ matched: 2, train: 1, skipped: 1 });
    expect(dataset.lint?.warnings.find((finding) => finding.rule === 'build.skipped_examples')).toMatchObject({ count: 1, example_ids: [gone] });
  });
});

describe('the dataset API refuses bad input and changes nothing', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createTestUser();
  });

  it.each([
    ['an unknown format', { name: 'x', format: 'csv' }, 422, 'format'],
    ['no format', { name: 'x' }, 400, 'format'],
    ['a split over one half', { name: 'x', format: 'openai', validation_split: 0.6 }, 422, 'validation_split'],
    ['a negative seed', { name: 'x', format: 'openai', seed: -1 }, 422, 'seed'],
    ['times out of order', { name: 'x', format: 'openai', created_after: '2026-02-02T00:00:00Z', created_before: '2026-02-01T00:00:00Z' }, 422, 'created_before'],
    ['an unknown suite', { name: 'x', format: 'openai', suite_id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' }, 422, 'suite_id'],
    ['an unknown model', { name: 'x', format: 'openai', model_id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' }, 422, 'model_id'],
    ['an empty name', { name: ' ', format: 'openai' }, 422, 'name'],
  ])('refuses %s', async (_case, body, status, field) => {
    const response = await callApi('/v1/datasets', { method: 'POST', key: user.key, body });
    expect(response.status).toBe(status);
    expect(response.json).toMatchObject({ error: { details: { fields: [expect.objectContaining({ field })] } } });
    expect((await db.query('select count(*)::int as n from datasets where user_id = $1', [user.userId])).rows[0].n).toBe(0);
  });

  it('deletes a dataset with its files', async () => {
    await addStoredExample(user, gmailConversation(1));
    const dataset = await buildDatasetViaApi(user.key, { name: 'doomed', format: 'openai' });
    expect(await datasetBlob(dataset.id, 'train.jsonl').exists()).toBe(true);
    expect((await callApi(`/v1/datasets/${dataset.id}`, { method: 'DELETE', key: user.key })).status).toBe(204);
    expect((await callApi(`/v1/datasets/${dataset.id}`, { key: user.key })).status).toBe(404);
    expect(await datasetBlob(dataset.id, 'train.jsonl').exists()).toBe(false);
    expect(await datasetBlob(dataset.id, 'validation.jsonl').exists()).toBe(false);
    expect((await callApi(`/v1/datasets/${dataset.id}`, { method: 'DELETE', key: user.key })).status).toBe(404);
  });
});

describe('storage usage', () => {
  it('counts the files of ready datasets in what is stored now', async () => {
    const user = await createTestUser();
    await db.query(
      `insert into datasets (user_id, name, format, seed, status, train_count, validation_count, train_bytes,
         validation_bytes, train_sha256, validation_sha256, lint)
       values ($1, 'big', 'openai', 1, 'ready', 1, 1, 1500000000, 500000000, $2, $2, '{}')`,
      [user.userId, '0'.repeat(64)],
    );
    const usage = await callApi('/v1/usage', { key: user.key });
    expect(usage.status).toBe(200);
    expect((usage.json as { storage: { current_gb: number } }).storage.current_gb).toBe(2);
  });
});

describe('a failing build', () => {
  it('ends failed with the reason and leaves no partial file', async () => {
    const user = await createTestUser();
    await addStoredExample(user, gmailConversation(1));
    await addStoredExample(user, gmailConversation(2));
    // Written as POST /v1/datasets writes it, but with no build request sent: this test runs the builder itself.
    const { rows } = await db.query(
      `insert into datasets (user_id, name, format, seed, validation_split) values ($1, 'leased', 'openai', 3, 0.5) returning id`,
      [user.userId],
    );
    const id = rows[0].id as string;
    // Someone holds a lease on validation.jsonl: Azure refuses to write it, after train.jsonl is written.
    const blocked = datasetBlob(id, 'validation.jsonl');
    await blocked.upload('held', 4);
    const lease = blocked.getBlobLeaseClient();
    await lease.acquireLease(-1);
    const kysely = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 2 });
    const log: string[] = [];
    try {
      expect(await buildDataset({ db: kysely, blobs: blobs(), log: (line) => log.push(line) }, id)).toBe('failed');
    } finally {
      await kysely.destroy();
      await lease.releaseLease();
      await blocked.delete();
    }
    const dataset = await waitForDataset(user.key, id);
    expect(dataset).toMatchObject({ status: 'failed', files: null, counts: null, lint: null });
    expect(dataset.error).toMatch(/Storage refused the dataset's files \(412 LeaseIdMissing\)/);
    expect(await datasetBlob(id, 'train.jsonl').exists()).toBe(false);
    expect(log.join('\n')).toContain('the build failed');
    expect((await callApi(`/v1/datasets/${id}/files/train.jsonl`, { key: user.key })).status).toBe(409);
  });
});
