import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { GITHUB_SUITE_ID, GMAIL_ACTION_TOOL_MAP_ID, GMAIL_SUITE_ID, GITHUB_ACTION_TOOL_MAP_ID } from '../../shared/seed/catalog.js';
import { DATASET_FORMATS, type DatasetFormat } from '../../shared/db/schema.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { createExampleViaApi, GPT_4O, TRAINING_MESSAGES, type CreatedExample } from '../support/examples.js';
import { callApi } from '../support/http.js';
import { createSessionRow } from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';


const db = useApiDatabaseClient();
let pipeline: TestUser;
const blobs = () => BlobServiceClient.fromConnectionString(inject('storageConnectionString'));

beforeAll(async () => {
  pipeline = await createTestUser({ scopes: ['api', 'pipeline'] });
});

type Example = CreatedExample;

const VALID_MESSAGES = TRAINING_MESSAGES.map((message) => JSON.stringify(message)).join('\n');

async function uploadMessages(exampleId: string, text: string): Promise<void> {
  const blob = blobs().getContainerClient('examples').getBlockBlobClient(`${exampleId}/messages.jsonl`);
  await blob.upload(text, Buffer.byteLength(text));
}

const newExample = createExampleViaApi;

function report(exampleId: string, body: unknown, key = pipeline.key) {
  return callApi(`/v1/pipeline/examples/${exampleId}`, { method: 'PATCH', key, body });
}

async function readMessages(exampleId: string): Promise<string> {
  const download = await blobs().getContainerClient('examples').getBlobClient(`${exampleId}/messages.jsonl`).downloadToBuffer();
  return download.toString('utf8');
}

async function usageRows(exampleId: string): Promise<number> {
  return (await db.query('select count(*)::int as n from token_usage where example_id = $1', [exampleId])).rows[0].n;
}

/** Reads the job of one example off the queue (other tests' jobs are left for them). */
async function receiveJob(exampleId: string): Promise<Record<string, unknown>> {
  const queue = QueueServiceClient.fromConnectionString(inject('storageConnectionString')).getQueueClient('example-jobs');
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 1 });
    for (const item of receivedMessageItems) {
      const job = JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')) as Record<string, unknown>;
      if (job.example_id === exampleId) {
        await queue.deleteMessage(item.messageId, item.popReceipt);
        return job;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no job for example ${exampleId} on the queue`);
}

describe('the example flow', () => {
  it('creates, hands off, processes, completes with usage once, and serves the messages', async () => {
    const user = await createTestUser();
    const sessionId = await createSessionRow(user.userId, GMAIL_SUITE_ID);
    const created = await callApi('/v1/examples', {
      method: 'POST',
      key: user.key,
      body: { session_id: sessionId, model_id: GPT_4O, model_configuration: { temperature: 0.2 } },
    });
    expect(created.status).toBe(201);
    const example = created.json as Example;
    expect(example).toMatchObject({
      status: 'PENDING',
      session_id: sessionId,
      suite_id: GMAIL_SUITE_ID,
      action_tool_map_id: GMAIL_ACTION_TOOL_MAP_ID,
      usage: null,
      error: null,
    });
    expect(created.headers.get('location')).toBe(`/v1/examples/${example.id}`);

    const job = await receiveJob(example.id);
    expect(job).toEqual({
      example_id: example.id,
      session_id: sessionId,
      user_id: user.userId,
      suite_id: GMAIL_SUITE_ID,
      model: { id: GPT_4O, provider: 'OPENAI', name: 'gpt-4o' },
      model_configuration: { temperature: 0.2 },
      action_tool_map_id: GMAIL_ACTION_TOOL_MAP_ID,
      input_blob: { container: 'sessions', name: `${sessionId}/input_events.jsonl`, url: expect.stringContaining(`/sessions/${sessionId}/input_events.jsonl`) },
      input_format: 'recorder-jsonl',
      screenshots_blob: null,
      output_blob: { container: 'examples', name: `${example.id}/messages.jsonl`, url: expect.stringContaining(`/examples/${example.id}/messages.jsonl`) },
    });
    expect((await db.query('select count(*)::int as n from example_job_outbox where example_id = $1', [example.id])).rows[0].n).toBe(0);

    expect((await callApi(`/v1/examples/${example.id}/messages`, { key: user.key })).status).toBe(409);
    expect((await report(example.id, { status: 'PROCESSING' })).json).toMatchObject({ status: 'PROCESSING' });
    await uploadMessages(example.id, VALID_MESSAGES + '\n');
    const completed = await report(example.id, { status: 'COMPLETED', usage: { input_tokens: 1200, output_tokens: 340 } });
    expect(completed.status).toBe(200);
    expect(completed.json).toMatchObject({
      status: 'COMPLETED',
      usage: { input_tokens: 1200, output_tokens: 340, total_tokens: 1540 },
      completed_at: expect.any(String),
    });
    const again = await report(example.id, { status: 'COMPLETED', usage: { input_tokens: 9, output_tokens: 9 } });
    expect(again.status).toBe(200);
    expect((again.json as Example).usage?.input_tokens).toBe(1200);
    expect(await usageRows(example.id)).toBe(1);
    const { rows } = await db.query('select user_id, suite_id, model_id, input_tokens::int, output_tokens::int from token_usage where example_id = $1', [
      example.id,
    ]);
    expect(rows[0]).toEqual({ user_id: user.userId, suite_id: GMAIL_SUITE_ID, model_id: GPT_4O, input_tokens: 1200, output_tokens: 340 });

    const messages = await callApi(`/v1/examples/${example.id}/messages`, { key: user.key });
    expect(messages.status).toBe(200);
    expect(messages.headers.get('content-type')).toContain('application/jsonl');
    expect(Number(messages.headers.get('content-length'))).toBe(Buffer.byteLength(VALID_MESSAGES + '\n'));
    expect(messages.text).toBe(VALID_MESSAGES + '\n');
    expect((await callApi(`/v1/examples/${example.id}`, { key: user.key })).json).toMatchObject({ status: 'COMPLETED' });
  });
});

describe('the pipelines state machine', () => {
  it.each([
    ['PENDING', 'COMPLETED'],
    ['COMPLETED', 'FAILED'],
    ['COMPLETED', 'PROCESSING'],
    ['FAILED', 'PROCESSING'],
    ['FAILED', 'COMPLETED'],
    ['PROCESSING', 'PROCESSING-then-PENDING'],
  ])('refuses %s -> %s with 409', async (from, to) => {
    const user = await createTestUser();
    const example = await newExample(user);
    if (from !== 'PENDING') {
      if (from === 'COMPLETED' || from === 'PROCESSING') await report(example.id, { status: 'PROCESSING' });
      if (from === 'COMPLETED') {
        await uploadMessages(example.id, VALID_MESSAGES);
        await report(example.id, { status: 'COMPLETED', usage: { input_tokens: 1, output_tokens: 1 } });
      }
      if (from === 'FAILED') await report(example.id, { status: 'FAILED', error: 'boom' });
    }
    if (to === 'PROCESSING-then-PENDING') {
      // PENDING is not a state one can report at all.
      expect((await report(example.id, { status: 'PENDING' })).status).toBe(422);
      return;
    }
    const response = await report(example.id, { status: to, usage: { input_tokens: 1, output_tokens: 1 } });
    expect(response.status).toBe(409);
    expect(response.json).toMatchObject({ error: { code: 'conflict', details: { from, to } } });
    expect((await callApi(`/v1/examples/${example.id}`, { key: user.key })).json).toMatchObject({ status: from });
  });

  it('accepts PENDING -> FAILED with the error, and repeating it is a no-op', async () => {
    const user = await createTestUser();
    const example = await newExample(user);
    const failed = await report(example.id, { status: 'FAILED', error: 'model refused' });
    expect(failed.json).toMatchObject({ status: 'FAILED', error: 'model refused', completed_at: expect.any(String) });
    expect((await report(example.id, { status: 'FAILED', error: 'other' })).json).toMatchObject({ error: 'model refused' });
    expect(await usageRows(example.id)).toBe(0);
  });

  const lines = (...messages: unknown[]) => messages.map((message) => JSON.stringify(message)).join('\n');
  const archive = (args: unknown, id?: string) => ({ ...(id ? { id } : {}), name: 'archive_email', arguments: args });
  it.each([
    ['a line that is not JSON', `${VALID_MESSAGES}\n{"role":`, 4, /not valid JSON/],
    ['an unknown role', `${VALID_MESSAGES}\n{"role":"robot","content":"x"}`, 4, /Unknown role "robot"/],
    [
      'tool_calls with arguments that are not JSON',
      lines({ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'archive_email', arguments: '{oops' } }] }),
      1,
      /arguments is not valid JSON/,
    ],
    [
      'arguments that are not a JSON object',
      lines({ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [archive(['m1'])] }),
      2,
      /arguments must be a JSON object .* not an array/,
    ],
    [
      'a tool call naming no tool of the example\'s map',
      lines({ role: 'user', content: 'x' }, { role: 'user', content: 'y' }, { role: 'assistant', content: null, tool_calls: [{ name: 'drop_tables', arguments: {} }] }),
      3,
      /"drop_tables" is no tool of the example's action-tool map/,
    ],
    [
      'a tool message answering no call',
      lines({ role: 'assistant', content: null, tool_calls: [archive({ message_id: 'm1' })] }, { role: 'tool', tool_call_id: 'call_9', content: 'done' }),
      2,
      /answers no call/,
    ],
    ['an assistant with neither text nor calls', lines({ role: 'assistant', content: '' }), 1, /text content or a non-empty `tool_calls`/],
    ['a weight that is not 0 or 1', lines({ role: 'assistant', content: 'hi', weight: 0.5 }), 1, /weight/],
    ['an empty file', '', 0, /empty/],
  ])('refuses COMPLETED over %s with 422 naming the line, leaving it PROCESSING', async (_name, text, line, message) => {
    const user = await createTestUser();
    const example = await newExample(user);
    await report(example.id, { status: 'PROCESSING' });
    await uploadMessages(example.id, text);
    const response = await report(example.id, { status: 'COMPLETED', usage: { input_tokens: 5, output_tokens: 5 } });
    expect(response.status).toBe(422);
    const details = (response.json as { error: { details: { lines: Array<{ line: number; message: string }> } } }).error.details;
    expect(details.lines[0]?.line).toBe(line);
    expect(details.lines[0]?.message).toMatch(message);
    expect((await callApi(`/v1/examples/${example.id}`, { key: user.key })).json).toMatchObject({ status: 'PROCESSING', usage: null });
    expect(await usageRows(example.id)).toBe(0);
    // Nothing rewritten: the file is as the service left it.
    expect(await readMessages(example.id)).toBe(text);
  });

  it('refuses COMPLETED without a messages file, and without usage', async () => {
    const user = await createTestUser();
    const example = await newExample(user);
    await report(example.id, { status: 'PROCESSING' });
    const missing = await report(example.id, { status: 'COMPLETED', usage: { input_tokens: 5, output_tokens: 5 } });
    expect(missing.status).toBe(422);
    expect(JSON.stringify(missing.json)).toContain('does not exist');
    await uploadMessages(example.id, VALID_MESSAGES);
    expect((await report(example.id, { status: 'COMPLETED' })).status).toBe(400);
    expect(await usageRows(example.id)).toBe(0);
  });

  it('records usage once when two COMPLETED reports race', async () => {
    const user = await createTestUser();
    const example = await newExample(user);
    await report(example.id, { status: 'PROCESSING' });
    await uploadMessages(example.id, VALID_MESSAGES);
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => report(example.id, { status: 'COMPLETED', usage: { input_tokens: 7, output_tokens: 3 } })),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await usageRows(example.id)).toBe(1);
  });

  it('needs the pipeline scope, and 404s an unknown example', async () => {
    const user = await createTestUser();
    const example = await newExample(user);
    const forbidden = await report(example.id, { status: 'PROCESSING' }, user.key);
    expect(forbidden.status).toBe(403);
    expect((await callApi(`/v1/examples/${example.id}`, { key: user.key })).json).toMatchObject({ status: 'PENDING' });
    expect((await report('00000000-0000-4000-8000-00000000beef', { status: 'PROCESSING' })).status).toBe(404);
  });
});

describe('creating examples: what is refused', () => {
  it('answers a session that is not ready with 409, and someone else\'s with 404', async () => {
    const user = await createTestUser();
    const other = await createTestUser();
    const processing = await createSessionRow(user.userId, GMAIL_SUITE_ID, 'processing');
    const notReady = await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: processing, model_id: GPT_4O } });
    expect(notReady.status).toBe(409);
    const theirs = await createSessionRow(other.userId, GMAIL_SUITE_ID);
    const foreign = await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: theirs, model_id: GPT_4O } });
    expect(foreign.status).toBe(404);
    const count = await db.query('select count(*)::int as n from examples where user_id = $1', [user.userId]);
    expect(count.rows[0].n).toBe(0);
  });

  it('names an unknown model and a map of another suite with 422', async () => {
    const user = await createTestUser();
    const sessionId = await createSessionRow(user.userId, GMAIL_SUITE_ID);
    const model = await callApi('/v1/examples', {
      method: 'POST',
      key: user.key,
      body: { session_id: sessionId, model_id: '00000000-0000-4000-8000-00000000f00d' },
    });
    expect(model.status).toBe(422);
    expect(JSON.stringify(model.json)).toContain('model_id');
    const map = await callApi('/v1/examples', {
      method: 'POST',
      key: user.key,
      body: { session_id: sessionId, model_id: GPT_4O, action_tool_map_id: GITHUB_ACTION_TOOL_MAP_ID },
    });
    expect(map.status).toBe(422);
    expect(JSON.stringify(map.json)).toContain('action_tool_map_id');
  });

  it('replays a repeated Idempotency-Key and refuses it with another body', async () => {
    const user = await createTestUser();
    const sessionId = await createSessionRow(user.userId, GMAIL_SUITE_ID);
    const body = { session_id: sessionId, model_id: GPT_4O };
    const headers = { 'Idempotency-Key': `req-${sessionId}` };
    const first = await callApi('/v1/examples', { method: 'POST', key: user.key, body, headers });
    const second = await callApi('/v1/examples', { method: 'POST', key: user.key, body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect((second.json as Example).id).toBe((first.json as Example).id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const changed = await callApi('/v1/examples', {
      method: 'POST',
      key: user.key,
      body: { ...body, model_configuration: { temperature: 1 } },
      headers,
    });
    expect(changed.status).toBe(409);
    const count = await db.query('select count(*)::int as n from examples where session_id = $1', [sessionId]);
    expect(count.rows[0].n).toBe(1);
  });
});

describe('reading examples', () => {
  it('filters by session, suite, model and status, and hides other users\' examples', async () => {
    const user = await createTestUser();
    const other = await createTestUser();
    const gmail = await newExample(user, GMAIL_SUITE_ID);
    const github = await newExample(user, GITHUB_SUITE_ID);
    const theirs = await newExample(other, GMAIL_SUITE_ID);
    await report(github.id, { status: 'FAILED', error: 'x' });
    const ids = async (query: string) =>
      ((await callApi(`/v1/examples${query}`, { key: user.key })).json as { items: Example[] }).items.map((item) => item.id);
    expect(await ids('')).toEqual([github.id, gmail.id]);
    expect(await ids(`?suite_id=${GMAIL_SUITE_ID}`)).toEqual([gmail.id]);
    expect(await ids(`?session_id=${github.session_id}`)).toEqual([github.id]);
    expect(await ids('?status=FAILED')).toEqual([github.id]);
    expect(await ids(`?model_id=${GPT_4O}&per_page=1`)).toEqual([github.id]);
    expect((await callApi('/v1/examples?status=DONE', { key: user.key })).status).toBe(422);
    for (const path of [`/v1/examples/${theirs.id}`, `/v1/examples/${theirs.id}/messages`]) {
      const response = await callApi(path, { key: user.key });
      expect(response.status).toBe(404);
    }
  });

  it('shows a suite-limited key only its suites\' examples', async () => {
    const user = await createTestUser();
    const gmail = await newExample(user, GMAIL_SUITE_ID);
    const github = await newExample(user, GITHUB_SUITE_ID);
    const limited = await callApi('/v1/api-keys', { method: 'POST', key: user.key, body: { suite_ids: [GMAIL_SUITE_ID] } });
    const key = (limited.json as { key: string }).key;
    const list = (await callApi('/v1/examples', { key })).json as { items: Example[] };
    expect(list.items.map((item) => item.id)).toEqual([gmail.id]);
    expect((await callApi(`/v1/examples/${github.id}`, { key })).status).toBe(404);
  });

  it('answers a key limited to a suite without examples with empty lists and 404s, never an error', async () => {
    const user = await createTestUser();
    const gmail = await newExample(user, GMAIL_SUITE_ID);
    const limited = await callApi('/v1/api-keys', { method: 'POST', key: user.key, body: { suite_ids: [GITHUB_SUITE_ID] } });
    const key = (limited.json as { key: string }).key;
    for (const path of ['/v1/examples', `/v1/examples?session_id=${gmail.session_id}`, '/v1/sessions']) {
      const list = await callApi(path, { key });
      expect(list.status, path).toBe(200);
      expect(list.json, path).toMatchObject({ items: [], total: 0 });
    }
    expect((await callApi(`/v1/examples/${gmail.id}`, { key })).status).toBe(404);
    expect((await callApi(`/v1/examples/${gmail.id}`, { method: 'DELETE', key })).status).toBe(404);
    expect((await callApi(`/v1/sessions/${gmail.session_id}`, { key })).status).toBe(404);
    expect((await callApi(`/v1/examples/${gmail.id}`, { key: user.key })).status).toBe(200);
  });
});

describe('downloading large messages by URL', () => {
  it('answers a read-only URL that reads the file and cannot write it', async () => {
    const user = await createTestUser();
    const example = await newExample(user);
    await report(example.id, { status: 'PROCESSING' });
    await uploadMessages(example.id, VALID_MESSAGES);
    await report(example.id, { status: 'COMPLETED', usage: { input_tokens: 1, output_tokens: 1 } });
    const response = await callApi(`/v1/examples/${example.id}/messages?download=url`, { key: user.key });
    expect(response.status).toBe(200);
    const download = response.json as { url: string; expires_at: string; size_bytes: number };
    // Stored canonical: every line ends with a newline, the last one too.
    expect(download.size_bytes).toBe(Buffer.byteLength(`${VALID_MESSAGES}\n`));
    expect(new Date(download.expires_at).getTime()).toBeGreaterThan(Date.now());
    expect(new URL(download.url).searchParams.get('sp')).toBe('r');
    const read = await fetch(download.url);
    expect(read.status).toBe(200);
    expect(await read.text()).toBe(`${VALID_MESSAGES}\n`);
    const write = await fetch(download.url, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'overwritten' });
    expect(write.status).toBe(403);
    expect((await callApi(`/v1/examples/${example.id}/messages?download=file`, { key: user.key })).status).toBe(422);
  });
});

describe('the pipelines\' own message shape, stored canonically and served in each format', () => {
  const fixture = (name: string) => readFileSync(join(PROJECT_ROOT, 'test/fixtures/training-formats', name), 'utf8');
  const GMAIL_TOOLS = ['add_label', 'archive_email', 'get_email', 'reply_email', 'search_emails', 'send_email'];
  let user: TestUser;
  let example: Example;

  beforeAll(async () => {
    user = await createTestUser();
    example = await newExample(user);
    await report(example.id, { status: 'PROCESSING' });
    await uploadMessages(example.id, fixture('pipeline-messages.jsonl'));
    const completed = await report(example.id, { status: 'COMPLETED', usage: { input_tokens: 10, output_tokens: 5 } });
    expect(completed.status).toBe(200);
  });

  it('rewrites the simplified tool calls in OpenAI\'s form and serves them as raw, with the conversation\'s digest kept', async () => {
    const canonical = fixture('canonical-messages.jsonl');
    expect(await readMessages(example.id)).toBe(canonical);
    for (const path of [`/v1/examples/${example.id}/messages`, `/v1/examples/${example.id}/messages?format=raw`]) {
      const raw = await callApi(path, { key: user.key });
      expect(raw.status).toBe(200);
      expect(raw.text).toBe(canonical);
    }
    const { rows } = await db.query('select conversation_sha256 from examples where id = $1', [example.id]);
    expect(rows[0].conversation_sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  // any: the records of the four formats are read by the paths each format puts its tools at.
  const toolNames: Record<DatasetFormat, (record: Record<string, any>) => string[]> = {
    openai: (record) => record.tools.map((tool: { function: { name: string } }) => tool.function.name),
    trl: (record) => record.tools.map((tool: { function: { name: string } }) => tool.function.name),
    anthropic: (record) => record.tools.map((tool: { name: string }) => tool.name),
    vertex: (record) => record.tools[0].functionDeclarations.map((declaration: { name: string }) => declaration.name),
  };

  it.each(DATASET_FORMATS)('serves %s as one line: the golden conversation, with the tools of the Gmail map', async (format) => {
    const response = await callApi(`/v1/examples/${example.id}/messages?format=${format}`, { key: user.key });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/jsonl');
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(response.text));
    expect(response.text.endsWith('\n')).toBe(true);
    expect(response.text.trimEnd()).not.toContain('\n');
    // any: records of four shapes, compared field by field with their golden files.
    const record = JSON.parse(response.text) as Record<string, any>;
    const golden = JSON.parse(fixture(`${format}.json`)) as Record<string, any>;
    expect({ ...record, tools: null }).toEqual({ ...golden, tools: null });
    expect(toolNames[format](record)).toEqual(GMAIL_TOOLS);
  });

  it('gives each tool a JSON Schema of its parameters, required ones listed', async () => {
    const record = JSON.parse((await callApi(`/v1/examples/${example.id}/messages?format=openai`, { key: user.key })).text);
    expect(record.tools.find((tool: { function: { name: string } }) => tool.function.name === 'send_email')).toEqual({
      type: 'function',
      function: {
        name: 'send_email',
        description: 'Send an email.',
        parameters: {
          type: 'object',
          properties: {
            to: { type: 'string', description: 'Recipients, comma-separated.' },
            subject: { type: 'string', description: 'Subject line.' },
            body: { type: 'string', description: 'Plain-text body.' },
            cc: { type: 'array', description: 'Addresses to copy.' },
            bcc: { type: 'array', description: 'Addresses to blind-copy.' },
          },
          required: ['to', 'subject', 'body'],
        },
      },
    });
  });

  it('names an unknown format or a download link of a converted format with 422, and keeps 404 and 409', async () => {
    const unknown = await callApi(`/v1/examples/${example.id}/messages?format=csv`, { key: user.key });
    expect(unknown.status).toBe(422);
    expect(unknown.json).toMatchObject({ error: { code: 'validation_error', details: { fields: [{ field: 'format' }] } } });
    const link = await callApi(`/v1/examples/${example.id}/messages?format=openai&download=url`, { key: user.key });
    expect(link.status).toBe(422);
    expect(link.json).toMatchObject({ error: { details: { fields: [{ field: 'download' }] } } });
    const stranger = await createTestUser();
    expect((await callApi(`/v1/examples/${example.id}/messages?format=vertex`, { key: stranger.key })).status).toBe(404);
    const pending = await newExample(user);
    expect((await callApi(`/v1/examples/${pending.id}/messages?format=anthropic`, { key: user.key })).status).toBe(409);
  });
});
