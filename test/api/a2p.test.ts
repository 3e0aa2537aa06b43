import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { TaskState, type Message, type Task } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { A2A_ERROR_CODE, isJsonRpcError, TaskNotCancelableError, TaskNotFoundError } from '@a2a-js/sdk/errors';
import { BlobServiceClient } from '@azure/storage-blob';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GITHUB_SUITE_ID, GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { addStoredExample, gmailConversation } from '../support/datasets.js';
import { GPT_4O, TRAINING_MESSAGES } from '../support/examples.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { a2aClientFor, dataPart, part, traceFilePart, userMessage } from '../support/a2aClient.js';
import { callApi, type ApiResponse } from '../support/http.js';
import { waitForFreshWindow } from '../support/rateLimitWindow.js';
import { createTestUser, type TestUser } from '../support/users.js';

/*
 * A2P over A2A, driven as an agent would: the SDK's own client (ClientFactory.createFromUrl, the key as a service
 * parameter) over HTTP against the local Functions host; raw JSON-RPC where the point is what goes on the wire.
 */

const UNKNOWN_ID = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';

const VALID_TRACE = [
  { type: 'keydown', ts: 1_000_000, key: 'a' },
  { type: 'keyup', ts: 1_250_000, key: 'a' },
  { name: 'click', ts: 3_500_000, x: 10, y: 20 },
]
  .map((event) => JSON.stringify(event))
  .join('\n')
  .concat('\n');

const VALID_MESSAGES = TRAINING_MESSAGES.map((message) => JSON.stringify(message)).join('\n');

let db: pg.Client;
let owner: TestUser;
let stranger: TestUser;
let pipeline: TestUser;
/** The user of the raw JSON-RPC requests, so that they do not eat into owner's 100 requests a minute. */
let wire: TestUser;
const blobs = () => BlobServiceClient.fromConnectionString(inject('storageConnectionString'));

beforeAll(async () => {
  db = new pg.Client({ connectionString: inject('databaseUrl') });
  await db.connect();
  [owner, stranger, pipeline, wire] = await Promise.all([
    createTestUser(),
    createTestUser(),
    createTestUser({ scopes: ['api', 'pipeline'] }),
    createTestUser(),
  ]);
});

afterAll(async () => {
  await db.end();
});


const traceFile = (text = VALID_TRACE) => traceFilePart(text);
const text = (value: string) => part({ $case: 'text', value }, '', 'text/plain');

async function send(client: Client, message: Message): Promise<Task | Message> {
  return client.sendMessage({ tenant: '', message, configuration: undefined, metadata: undefined });
}

async function sendForTask(client: Client, message: Message): Promise<Task> {
  const result = await send(client, message);
  expect('status' in result, JSON.stringify(result)).toBe(true);
  return result as Task;
}

function statusText(task: Task): string {
  return (task.status?.message?.parts ?? [])
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join(' ');
}

async function getTask(client: Client, id: string): Promise<Task> {
  return client.getTask({ tenant: '', id, historyLength: undefined });
}

/** Polls the task (each read also advances it) until it leaves WORKING/SUBMITTED, or reaches `state`. */
async function until(client: Client, id: string, done: (task: Task) => boolean, timeoutMs = 30_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await getTask(client, id);
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`Task ${id} is still ${TaskState[task.status?.state ?? 0]}: ${statusText(task)}`);
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

const isState = (state: TaskState) => (task: Task) => task.status?.state === state;

async function taskRow(id: string) {
  return (await db.query('select * from a2p_tasks where id = $1', [id])).rows[0];
}

async function rpc(body: unknown, options: { key?: string | null; headers?: Record<string, string> } = {}): Promise<ApiResponse> {
  // A header given as '' is left out (0.3 clients send no A2A-Version).
  const headers = Object.fromEntries(
    Object.entries({ 'A2A-Version': '1.0', ...options.headers }).filter(([, value]) => value !== ''),
  );
  return callApi('/v1/a2p', {
    method: 'POST',
    key: options.key === undefined ? wire.key : options.key,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers,
  });
}

/** The pipelines service's part: writes messages.jsonl and reports PROCESSING, then COMPLETED (as examples tests do). */
async function completeExample(exampleId: string, messages = VALID_MESSAGES): Promise<void> {
  const blob = blobs().getContainerClient('examples').getBlockBlobClient(`${exampleId}/messages.jsonl`);
  await blob.upload(messages, Buffer.byteLength(messages));
  const processing = await callApi(`/v1/pipeline/examples/${exampleId}`, {
    method: 'PATCH',
    key: pipeline.key,
    body: { status: 'PROCESSING' },
  });
  expect(processing.status).toBe(200);
  const completed = await callApi(`/v1/pipeline/examples/${exampleId}`, {
    method: 'PATCH',
    key: pipeline.key,
    body: { status: 'COMPLETED', usage: { input_tokens: 1200, output_tokens: 300 } },
  });
  expect(completed.status, completed.text).toBe(200);
}

describe('the agent card', () => {
  it('is public and, for A2A 1.0 clients, names the endpoint, protocol, security and skills', async () => {
    const response = await callApi('/.well-known/agent-card.json', { key: null, headers: { 'A2A-Version': '1.0' } });
    expect(response.status).toBe(200);
    const card = response.json as Record<string, any>;
    expect(card).toMatchObject({
      name: 'Tracepipe',
      version: expect.any(String),
      provider: { organization: 'Tracepipe' },
      capabilities: { streaming: false, pushNotifications: true },
      securitySchemes: { apiKey: { apiKeySecurityScheme: { location: 'header', name: 'X-API-Key' } } },
      securityRequirements: [{ schemes: { apiKey: {} } }],
    });
    expect(card.supportedInterfaces).toEqual([
      { url: `${inject('apiUrl')}/v1/a2p`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: `${inject('apiUrl')}/v1/a2p`, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
    ]);
    expect(card.skills.map((skill: { id: string }) => skill.id)).toEqual(['process-trace', 'build-dataset', 'catalog', 'usage']);
    expect(card.defaultInputModes).toContain('application/jsonl');
    expect(response.headers.get('vary')).toBe('A2A-Version');
  });

  it('serves 0.3 clients (no A2A-Version) the 0.3 shape', async () => {
    const response = await callApi('/.well-known/agent-card.json', { key: null });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      url: `${inject('apiUrl')}/v1/a2p`,
      preferredTransport: 'JSONRPC',
      protocolVersion: '0.3',
      securitySchemes: { apiKey: { type: 'apiKey', name: 'X-API-Key', in: 'header' } },
      security: [{ apiKey: [] }],
    });
  });

  it('is what the SDK client discovers', async () => {
    const client = await a2aClientFor(owner);
    const card = await client.getAgentCard();
    expect(card.name).toBe('Tracepipe');
    expect(card.securitySchemes.apiKey?.scheme).toEqual({
      $case: 'apiKeySecurityScheme',
      value: expect.objectContaining({ name: 'X-API-Key', location: 'header' }),
    });
  });
});

describe('process-trace', () => {
  it('takes a trace through session, example and pipelines to COMPLETED with the messages as an artifact', async () => {
    const client = await a2aClientFor(owner);
    const accepted = await sendForTask(
      client,
      userMessage([traceFile(), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O, model_configuration: { temperature: 0.2 } })]),
    );
    expect(accepted.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const sessionId = accepted.metadata?.session_id as string;
    expect(statusText(accepted)).toContain(sessionId);

    // The file became the caller's session, indexed into its canonical trace (the upload kept as the original);
    // the task row links it.
    const session = await callApi(`/v1/sessions/${sessionId}`, { key: owner.key });
    expect(session.json).toMatchObject({ id: sessionId, suite_id: GMAIL_SUITE_ID, file_name: 'input_events.jsonl' });
    const sessions = blobs().getContainerClient('sessions');
    const original = sessions.getBlobClient(`${sessionId}/original/input_events.jsonl`);
    await until(client, accepted.id, (task) => typeof task.metadata?.example_id === 'string');
    expect((await original.downloadToBuffer()).toString()).toBe(VALID_TRACE);
    const canonical = (await sessions.getBlobClient(`${sessionId}/input_events.jsonl`).downloadToBuffer()).toString();
    expect(canonical.trim().split('\n').map((line) => (JSON.parse(line) as { action: string }).action)).toEqual(['keydown', 'keyup', 'click']);
    expect(await taskRow(accepted.id)).toMatchObject({ user_id: owner.userId, session_id: sessionId, state: 'TASK_STATE_WORKING' });
    // The stored history keeps what was said, not the file's bytes.
    expect(JSON.stringify((await taskRow(accepted.id)).history)).not.toContain(Buffer.from(VALID_TRACE).toString('base64'));

    // Indexed -> the example is created (by the indexer's hook or this read) and handed to the pipelines service.
    const generating = await until(client, accepted.id, (task) => typeof task.metadata?.example_id === 'string');
    expect(generating.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const exampleId = generating.metadata?.example_id as string;
    // Reading a task that has not moved writes nothing.
    const revision = (await taskRow(accepted.id)).revision;
    await getTask(client, accepted.id);
    await getTask(client, accepted.id);
    expect((await taskRow(accepted.id)).revision).toBe(revision);
    const example = await callApi(`/v1/examples/${exampleId}`, { key: owner.key });
    expect(example.json).toMatchObject({
      id: exampleId,
      session_id: sessionId,
      model_id: GPT_4O,
      model_configuration: { temperature: 0.2 },
      status: 'PENDING',
    });

    await completeExample(exampleId);
    // The pipeline's report moved the task itself: the row is COMPLETED before anyone reads it.
    expect((await taskRow(accepted.id)).state).toBe('TASK_STATE_COMPLETED');
    const done = await getTask(client, accepted.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const [artifact] = done.artifacts;
    expect(artifact?.name).toBe('messages.jsonl');
    const [file, summary] = artifact?.parts ?? [];
    expect(file?.content?.$case).toBe('raw');
    expect(file?.mediaType).toBe('application/jsonl');
    // As stored: canonical, every line with its newline.
    expect(Buffer.from(file?.content?.value as Buffer).toString()).toBe(`${VALID_MESSAGES}\n`);
    expect(summary?.content).toEqual({
      $case: 'data',
      value: expect.objectContaining({ example_id: exampleId, session_id: sessionId, usage: { input_tokens: 1200, output_tokens: 300 } }),
    });

    // A finished task takes no more messages and cannot be canceled.
    await expect(send(client, userMessage([text('again')], { taskId: done.id, contextId: done.contextId }))).rejects.toSatisfy(
      (error: unknown) => isJsonRpcError(error) && error.envelopeCode === A2A_ERROR_CODE.UNSUPPORTED_OPERATION,
    );
    await expect(client.cancelTask({ tenant: '', id: done.id, metadata: undefined })).rejects.toBeInstanceOf(TaskNotCancelableError);
  });

  it('rejects an invalid trace with the problems found, and creates no example', async () => {
    const client = await a2aClientFor(owner);
    const accepted = await sendForTask(
      client,
      userMessage([traceFile('{"type":"keydown","ts":1}\nnot json\n'), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]),
    );
    const rejected = await until(client, accepted.id, isState(TaskState.TASK_STATE_REJECTED));
    expect(statusText(rejected)).toMatch(/^The trace is invalid: line 2: /);
    expect(rejected.metadata?.example_id).toBeUndefined();
    const examples = await db.query('select count(*)::int as n from examples where session_id = $1', [accepted.metadata?.session_id]);
    expect(examples.rows[0].n).toBe(0);
  });

  it.each([
    ['a Chrome trace', 'chrome-trace-small.json', 'application/json', 'chrome-trace'],
    ["the recorder's folder as a zip", 'recorder-bundle.zip', 'application/zip', 'recorder-bundle'],
  ])('takes %s as the file: its session is of that format, and the example follows', async (_what, file, mediaType, format) => {
    const user = await createTestUser(); // of its own: inline traces count against the session-creation limit
    const client = await a2aClientFor(user);
    const bytes = readFileSync(join(PROJECT_ROOT, 'test/fixtures/samples', file));
    const accepted = await sendForTask(
      client,
      userMessage([part({ $case: 'raw', value: bytes }, file, mediaType), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]),
    );
    const generating = await until(client, accepted.id, (task) => typeof task.metadata?.example_id === 'string');
    expect(generating.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const session = await callApi(`/v1/sessions/${accepted.metadata?.session_id as string}`, { key: user.key });
    expect(session.json).toMatchObject({ status: 'ready', format, file_name: file });
  });

  it('asks for a missing field (INPUT_REQUIRED), then goes on with the reply on the same task', async () => {
    const client = await a2aClientFor(owner);
    const asked = await sendForTask(client, userMessage([traceFile(), dataPart({ suite_id: GMAIL_SUITE_ID })]));
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(statusText(asked)).toContain('Missing: model_id.');
    // Nothing is stored while the task waits.
    expect((await taskRow(asked.id)).session_id).toBeNull();
    expect(asked.metadata?.received).toEqual({ suite_id: GMAIL_SUITE_ID });

    const resumed = await sendForTask(
      client,
      userMessage([traceFile(), dataPart({ model_id: GPT_4O })], { taskId: asked.id, contextId: asked.contextId }),
    );
    expect(resumed.id).toBe(asked.id);
    expect(resumed.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    expect(resumed.metadata).toMatchObject({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O, session_id: expect.any(String) });
  });

  it('asks for the file when only the data part came', async () => {
    const client = await a2aClientFor(owner);
    const asked = await sendForTask(client, userMessage([dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]));
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(statusText(asked)).toContain('Missing: file.');
  });

  it.each([
    ['a malformed suite id', { suite_id: 'nope', model_id: GPT_4O }, /suite_id/],
    ['an unknown suite', { suite_id: UNKNOWN_ID, model_id: GPT_4O }, /No such suite/],
    ['an unknown model', { suite_id: GMAIL_SUITE_ID, model_id: UNKNOWN_ID }, /No such model/],
    ['an unknown field', { suite_id: GMAIL_SUITE_ID, model_id: GPT_4O, colour: 'red' }, /Unknown field\(s\) in the data part: colour/],
  ])('rejects %s, storing nothing', async (_case, fields, reason) => {
    const client = await a2aClientFor(owner);
    const before = await db.query('select count(*)::int as n from sessions where user_id = $1', [owner.userId]);
    const task = await sendForTask(client, userMessage([traceFile(), dataPart(fields)]));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_REJECTED);
    expect(statusText(task)).toMatch(reason);
    const after = await db.query('select count(*)::int as n from sessions where user_id = $1', [owner.userId]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('rejects a suite the key is not limited to', async () => {
    const limited = await createTestUser({ suiteIds: [GITHUB_SUITE_ID] });
    const task = await sendForTask(await a2aClientFor(limited), userMessage([traceFile(), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_REJECTED);
    expect(statusText(task)).toContain('limited to other suites');
  });

  it('rejects a URL that is not a trace of the caller in our storage, and takes one that is', async () => {
    const client = await a2aClientFor(owner);
    const foreign = await sendForTask(
      client,
      userMessage([part({ $case: 'url', value: 'https://example.com/trace.jsonl' }), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]),
    );
    expect(foreign.status?.state).toBe(TaskState.TASK_STATE_REJECTED);
    expect(statusText(foreign)).toContain("Tracepipe's storage");

    const created = await callApi('/v1/sessions', { method: 'POST', key: owner.key, body: { suite_id: GMAIL_SUITE_ID } });
    const upload = (created.json as { upload: { url: string } }).upload;
    await fetch(upload.url, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: VALID_TRACE });
    const fields = dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O });

    // Someone else's session, by its URL: rejected as if it did not exist.
    const theirs = await sendForTask(await a2aClientFor(stranger), userMessage([part({ $case: 'url', value: upload.url }), fields]));
    expect(theirs.status?.state).toBe(TaskState.TASK_STATE_REJECTED);

    const mine = await sendForTask(client, userMessage([part({ $case: 'url', value: upload.url.split('?')[0] as string }), fields]));
    expect(mine.metadata?.session_id).toBe((created.json as { id: string }).id);
    const generating = await until(client, mine.id, (task) => typeof task.metadata?.example_id === 'string');
    expect(generating.status?.state).toBe(TaskState.TASK_STATE_WORKING);
  });
});

describe('process-trace outcomes', () => {
  // A user of its own: these tests poll, and owner's other tests share its 100 requests a minute.
  let user: TestUser;
  beforeAll(async () => {
    user = await createTestUser();
  });

  /** A task whose example exists, with the example id. */
  async function taskWithExample(client: Client): Promise<{ task: Task; exampleId: string }> {
    const accepted = await sendForTask(client, userMessage([traceFile(), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]));
    const task = await until(client, accepted.id, (t) => typeof t.metadata?.example_id === 'string');
    return { task, exampleId: task.metadata?.example_id as string };
  }

  it('carries large messages as a download link, signed afresh at each read', async () => {
    const client = await a2aClientFor(user);
    const { task, exampleId } = await taskWithExample(client);
    const line = VALID_MESSAGES.split('\n')[2] as string;
    // Every tool call has an id of its own (one id twice in an example is refused).
    const calls = Array.from({ length: Math.ceil((300 * 1024) / line.length) }, (_, i) => line.replace('"call_1"', `"call_x${i}"`));
    const large = `${[VALID_MESSAGES, ...calls].join('\n')}\n`;
    await completeExample(exampleId, large);
    const done = await getTask(client, task.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const file = done.artifacts[0]?.parts[0];
    expect(file?.content?.$case).toBe('url');
    expect(file?.filename).toBe('messages.jsonl');
    const expires = Date.parse(file?.metadata?.signed_link_expires_at as string);
    expect(expires).toBeGreaterThan(Date.now());
    const downloaded = await fetch(file?.content?.value as string);
    expect(downloaded.status).toBe(200);
    expect(await downloaded.text()).toBe(large);
    // The stored link is replaced by a new one on every read (the stored one has expired by then in real use).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = (await getTask(client, task.id)).artifacts[0]?.parts[0];
    expect(Date.parse(again?.metadata?.signed_link_expires_at as string)).toBeGreaterThan(expires);
  });

  it("fails with the pipelines service's error when the example fails", async () => {
    const client = await a2aClientFor(user);
    const { task, exampleId } = await taskWithExample(client);
    const failed = await callApi(`/v1/pipeline/examples/${exampleId}`, {
      method: 'PATCH',
      key: pipeline.key,
      body: { status: 'FAILED', error: 'The recording shows no Gmail actions.' },
    });
    expect(failed.status).toBe(200);
    const done = await getTask(client, task.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(statusText(done)).toContain('The recording shows no Gmail actions.');
    expect(done.artifacts).toEqual([]);
  });

  it('waits for the upload of a session named by URL, and rejects it once its upload URL has expired', async () => {
    const client = await a2aClientFor(user);
    const created = await callApi('/v1/sessions', { method: 'POST', key: user.key, body: { suite_id: GMAIL_SUITE_ID } });
    const { id, upload } = created.json as { id: string; upload: { url: string } };
    const fields = dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O });
    const waiting = await sendForTask(client, userMessage([part({ $case: 'url', value: upload.url }), fields]));
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    expect(statusText(await getTask(client, waiting.id))).toContain(`Waiting for the upload of session ${id}`);
    // Two hours later (the URL lives one), nothing came.
    await db.query("update sessions set created_at = now() - interval '2 hours' where id = $1", [id]);
    const expired = await getTask(client, waiting.id);
    expect(expired.status?.state).toBe(TaskState.TASK_STATE_REJECTED);
    expect(statusText(expired)).toContain('never uploaded');
  });

  it('keeps a working task as it is when more is said to it', async () => {
    const client = await a2aClientFor(user);
    const accepted = await sendForTask(client, userMessage([traceFile(), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]));
    const reply = await sendForTask(client, userMessage([text('hurry up')], { taskId: accepted.id, contextId: accepted.contextId }));
    expect(reply.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    expect(statusText(reply)).toContain('under way');
    expect(reply.metadata?.session_id).toBe(accepted.metadata?.session_id);
  });

  it('counts inline traces against the session-creation limit', async () => {
    const user = await createTestUser();
    const client = await a2aClientFor(user);
    // The eleven requests must fall in one minute's window.
    await waitForFreshWindow(db);
    const states: TaskState[] = [];
    for (let i = 0; i < 11; i++) {
      const task = await sendForTask(client, userMessage([traceFile(), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]));
      states.push(task.status?.state as TaskState);
      if (i === 10) expect(statusText(task)).toMatch(/Rate limit of 10 requests per minute/);
    }
    expect(states.slice(0, 10).every((state) => state === TaskState.TASK_STATE_WORKING)).toBe(true);
    expect(states[10]).toBe(TaskState.TASK_STATE_REJECTED);
    expect((await db.query('select count(*)::int as n from sessions where user_id = $1', [user.userId])).rows[0].n).toBe(10);
  });
});

describe('build-dataset', () => {
  it('builds a dataset of the caller\'s examples; the task follows the build and carries the files', async () => {
    const user = await createTestUser();
    for (let n = 1; n <= 3; n++) await addStoredExample(user, gmailConversation(n));
    const client = await a2aClientFor(user);

    // Without a format the task asks for it; the reply on the task completes the request.
    const asked = await sendForTask(client, userMessage([dataPart({ skill: 'build-dataset', name: 'agent set' })]));
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(statusText(asked)).toContain('Missing: format');
    const accepted = await sendForTask(client, userMessage([dataPart({ format: 'vertex', validation_split: 0.34, seed: 9 })], { taskId: asked.id, contextId: asked.contextId }));
    expect(accepted.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const datasetId = accepted.metadata?.dataset_id as string;
    expect((await taskRow(accepted.id)).dataset_id).toBe(datasetId);

    const done = await until(client, accepted.id, isState(TaskState.TASK_STATE_COMPLETED));
    expect(statusText(done)).toContain('2 training and 1 validation examples in the vertex format');
    const [artifact] = done.artifacts;
    expect(artifact?.name).toBe('agent set');
    const [train, validation, summary] = artifact?.parts ?? [];
    expect([train?.filename, validation?.filename]).toEqual(['train.jsonl', 'validation.jsonl']);
    const rest = await callApi(`/v1/datasets/${datasetId}/files/train.jsonl`, { key: user.key });
    expect(await (await fetch(train?.content?.value as string)).text()).toBe(rest.text);
    expect(summary?.content).toEqual({
      $case: 'data',
      value: expect.objectContaining({ id: datasetId, status: 'ready', counts: expect.objectContaining({ train: 2, validation: 1 }) }),
    });
    // The links are signed afresh at every read.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = (await getTask(client, accepted.id)).artifacts[0]?.parts[0];
    expect(Date.parse(again?.metadata?.signed_link_expires_at as string)).toBeGreaterThan(Date.parse(train?.metadata?.signed_link_expires_at as string));
  });

  it('rejects a wrong value and a suite outside the key; a finished task outlives its dataset', async () => {
    const user = await createTestUser();
    const client = await a2aClientFor(user);
    const wrong = await sendForTask(client, userMessage([dataPart({ skill: 'build-dataset', name: 'x', format: 'csv' })]));
    expect(wrong.status?.state).toBe(TaskState.TASK_STATE_REJECTED);
    expect(statusText(wrong)).toMatch(/format/);
    const limited = await callApi('/v1/api-keys', { method: 'POST', key: user.key, body: { suite_ids: [GITHUB_SUITE_ID] } });
    const limitedClient = await a2aClientFor({ ...user, key: (limited.json as { key: string }).key });
    const outside = await sendForTask(limitedClient, userMessage([dataPart({ skill: 'build-dataset', name: 'x', format: 'openai', suite_id: GMAIL_SUITE_ID })]));
    expect(outside.status?.state).toBe(TaskState.TASK_STATE_REJECTED);
    expect(statusText(outside)).toContain('limited to other suites');

    const building = await sendForTask(client, userMessage([dataPart({ skill: 'build-dataset', name: 'gone', format: 'openai' })]));
    const datasetId = building.metadata?.dataset_id as string;
    await until(client, building.id, isState(TaskState.TASK_STATE_COMPLETED));
    expect((await callApi(`/v1/datasets/${datasetId}`, { method: 'DELETE', key: user.key })).status).toBe(204);
    // A finished task keeps its outcome when the dataset goes; only the row's link is cleared.
    expect((await taskRow(building.id)).dataset_id).toBeNull();
    expect((await getTask(client, building.id)).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });
});

describe('tasks belong to their user', () => {
  it("answers another user's task as not found, for get, cancel, list and follow-ups", async () => {
    const client = await a2aClientFor(owner);
    const task = await sendForTask(client, userMessage([dataPart({ suite_id: GMAIL_SUITE_ID })]));
    const other = await a2aClientFor(stranger);
    await expect(getTask(other, task.id)).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(other.cancelTask({ tenant: '', id: task.id, metadata: undefined })).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(send(other, userMessage([text('hi')], { taskId: task.id }))).rejects.toBeInstanceOf(TaskNotFoundError);
    const listed = await other.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 100,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    expect(listed.tasks.map((t) => t.id)).not.toContain(task.id);
    expect((await getTask(client, task.id)).id).toBe(task.id);
  });

  it('lists your tasks newest first, by page, with filters', async () => {
    const user = await createTestUser();
    const client = await a2aClientFor(user);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await sendForTask(client, userMessage([dataPart({ suite_id: GMAIL_SUITE_ID })]))).id);
    const first = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_INPUT_REQUIRED,
      pageSize: 2,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    expect(first.totalSize).toBe(3);
    expect(first.tasks.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    const second = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 2,
      pageToken: first.nextPageToken,
      statusTimestampAfter: undefined,
    });
    expect(second.tasks.map((t) => t.id)).toEqual([ids[0]]);
    expect(second.nextPageToken).toBe('');
    const none = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_COMPLETED,
      pageSize: 10,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    expect(none).toMatchObject({ tasks: [], totalSize: 0 });

    // By context, and by status time.
    const first3 = await getTask(client, ids[0] as string);
    const ofContext = await client.listTasks({
      tenant: '',
      contextId: first3.contextId,
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 10,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    expect(ofContext.tasks.map((t) => t.id)).toEqual([ids[0]]);
    const last = await getTask(client, ids[2] as string);
    const newer = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 10,
      pageToken: '',
      statusTimestampAfter: (await getTask(client, ids[1] as string)).status?.timestamp,
    });
    expect(newer.tasks.map((t) => t.id)).toEqual([last.id]);
  });
});

describe('cancel', () => {
  it('cancels a working task, which then stays canceled (no example is created)', async () => {
    const client = await a2aClientFor(owner);
    const task = await sendForTask(client, userMessage([traceFile(), dataPart({ suite_id: GMAIL_SUITE_ID, model_id: GPT_4O })]));
    const canceled = await client.cancelTask({ tenant: '', id: task.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    // The session goes on being indexed; the task no longer follows it.
    const session = task.metadata?.session_id as string;
    let status = '';
    for (let i = 0; i < 60 && status !== 'ready'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await db.query('select status from sessions where id = $1', [session])).rows[0].status;
    }
    // The session did become ready, so an example would have been made had the task still followed it.
    expect(status).toBe('ready');
    const later = await getTask(client, task.id);
    expect(later.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    expect(later.metadata?.example_id).toBeUndefined();
    expect((await db.query('select count(*)::int as n from examples where session_id = $1', [session])).rows[0].n).toBe(0);
    // A canceled task is finished: canceling it again is "not cancelable" (-32002), as for any terminal state.
    await expect(client.cancelTask({ tenant: '', id: task.id, metadata: undefined })).rejects.toBeInstanceOf(TaskNotCancelableError);
    const again = await rpc(
      { jsonrpc: '2.0', id: 'again', method: 'CancelTask', params: { id: task.id } },
      { key: owner.key, headers: { 'A2A-Version': '1.0' } },
    );
    expect(again.json).toMatchObject({ id: 'again', error: { code: A2A_ERROR_CODE.TASK_NOT_CANCELABLE } });
  });

  it('refuses to cancel an unknown task', async () => {
    const client = await a2aClientFor(owner);
    await expect(client.cancelTask({ tenant: '', id: UNKNOWN_ID, metadata: undefined })).rejects.toBeInstanceOf(TaskNotFoundError);
  });
});

describe('catalog and usage', () => {
  it('answers catalog questions in words and in data with a message whose data part is the REST answer', async () => {
    const client = await a2aClientFor(owner);
    const suites = await send(client, userMessage([text('Which suites can I record?')]));
    expect('parts' in suites).toBe(true);
    const [answer] = (suites as Message).parts;
    expect(answer?.content?.$case).toBe('data');
    const rest = await callApi('/v1/suites', { key: owner.key });
    expect((answer?.content?.value as { total: number }).total).toBe((rest.json as { total: number }).total);

    const gmail = await send(client, userMessage([dataPart({ skill: 'catalog', query: 'suite', id: GMAIL_SUITE_ID })]));
    expect(((gmail as Message).parts[0]?.content?.value as { id: string; actions: unknown[] })).toMatchObject({
      id: GMAIL_SUITE_ID,
      actions: expect.any(Array),
    });

    const missing = await send(client, userMessage([dataPart({ skill: 'catalog', query: 'suite', id: UNKNOWN_ID })]));
    expect((missing as Message).parts[0]?.content?.value).toMatchObject({ error: { code: 'not_found' } });
  });

  it('reports usage as GET /v1/usage does', async () => {
    const client = await a2aClientFor(owner);
    const usage = await send(client, userMessage([text('What is my usage this month?')]));
    const rest = await callApi('/v1/usage', { key: owner.key });
    const { billing_period, tokens } = rest.json as { billing_period: unknown; tokens: unknown };
    expect((usage as Message).parts[0]?.content?.value).toMatchObject({ billing_period, tokens });
  });
});

describe('A2A 0.3 clients', () => {
  it('message/send, tasks/get and tasks/cancel work without an A2A-Version header', async () => {
    const send03 = await rpc(
      {
        jsonrpc: '2.0',
        id: 'a',
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            messageId: randomUUID(),
            role: 'user',
            parts: [
              { kind: 'file', file: { bytes: Buffer.from(VALID_TRACE).toString('base64'), mimeType: 'application/jsonl', name: 'input_events.jsonl' } },
              { kind: 'data', data: { suite_id: GMAIL_SUITE_ID, model_id: GPT_4O } },
            ],
          },
        },
      },
      { headers: { 'A2A-Version': '' } },
    );
    expect(send03.status).toBe(200);
    const task = (send03.json as { result: { kind: string; id: string; status: { state: string } } }).result;
    expect(task).toMatchObject({ kind: 'task', status: { state: 'working' } });

    const get03 = await rpc({ jsonrpc: '2.0', id: 'b', method: 'tasks/get', params: { id: task.id } }, { headers: { 'A2A-Version': '0.3' } });
    expect(get03.json).toMatchObject({ id: 'b', result: { kind: 'task', id: task.id } });

    const cancel03 = await rpc({ jsonrpc: '2.0', id: 'c', method: 'tasks/cancel', params: { id: task.id } }, { headers: { 'A2A-Version': '0.3' } });
    expect(cancel03.json).toMatchObject({ id: 'c', result: { kind: 'task', status: { state: 'canceled' } } });

    const again = await rpc({ jsonrpc: '2.0', id: 'd', method: 'tasks/get', params: { id: UNKNOWN_ID } }, { headers: { 'A2A-Version': '0.3' } });
    expect(again.json).toMatchObject({ id: 'd', error: { code: -32001 } });
  });
});

describe('malformed JSON-RPC', () => {
  it.each([
    ['not JSON', -32700, null, '{"jsonrpc": "2.0", '],
    ['a batch', -32600, null, [{ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: UNKNOWN_ID } }]],
    ['a scalar', -32600, null, '42'],
    ['no jsonrpc member', -32600, 7, { id: 7, method: 'GetTask', params: { id: UNKNOWN_ID } }],
    ['a wrong jsonrpc version', -32600, 7, { jsonrpc: '1.0', id: 7, method: 'GetTask', params: { id: UNKNOWN_ID } }],
    ['no method', -32600, 7, { jsonrpc: '2.0', id: 7, params: {} }],
    ['an object id', -32600, null, { jsonrpc: '2.0', id: { a: 1 }, method: 'GetTask', params: { id: UNKNOWN_ID } }],
    ['an unknown method', -32601, 7, { jsonrpc: '2.0', id: 7, method: 'tasks/explode', params: {} }],
    ['params that are not an object', -32602, 7, { jsonrpc: '2.0', id: 7, method: 'GetTask', params: [1, 2] }],
    ['a message without messageId', -32602, 7, { jsonrpc: '2.0', id: 7, method: 'SendMessage', params: { message: { role: 'ROLE_USER', parts: [] } } }],
    ['an unknown task', -32001, 7, { jsonrpc: '2.0', id: 7, method: 'GetTask', params: { id: UNKNOWN_ID } }],
    ['a task id that is not a UUID', -32001, 7, { jsonrpc: '2.0', id: 7, method: 'GetTask', params: { id: 'nope' } }],
    ['a bad page size', -32602, 7, { jsonrpc: '2.0', id: 7, method: 'ListTasks', params: { pageSize: 1000 } }],
    ['a bad page token', -32602, 7, { jsonrpc: '2.0', id: 7, method: 'ListTasks', params: { pageToken: 'garbage' } }],
    ['streaming', -32004, 7, { jsonrpc: '2.0', id: 7, method: 'SendStreamingMessage', params: { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } }],
  ])('answers %s with HTTP 200 and error %i', async (_case, code, id, body) => {
    const response = await rpc(body);
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ jsonrpc: '2.0', id, error: { code, message: expect.any(String) } });
  });

  it('says why a 1.0 method without the A2A-Version header is not found', async () => {
    const response = await rpc({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: UNKNOWN_ID } }, { headers: { 'A2A-Version': '' } });
    expect(response.json).toMatchObject({ id: 1, error: { code: -32601, message: expect.stringContaining('send A2A-Version: 1.0 for GetTask') } });
  });

  it('answers an unsupported protocol version with -32009, and a wrong content type with -32005', async () => {
    const version = await rpc({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: UNKNOWN_ID } }, { headers: { 'A2A-Version': '2.0' } });
    expect(version.json).toMatchObject({ id: 1, error: { code: -32009 } });
    const contentType = await callApi('/v1/a2p', {
      method: 'POST',
      key: owner.key,
      body: '{}',
      headers: { 'Content-Type': 'text/plain', 'A2A-Version': '1.0' },
    });
    expect(contentType.status).toBe(200);
    expect(contentType.json).toMatchObject({ error: { code: -32005 } });
  });

  it('refuses a body over the limit with 413 in the API error shape before reading it, and records nothing', async () => {
    const user = await createTestUser();
    const response = await rpc('{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"pad":"' + 'x'.repeat(13 * 1024 * 1024) + '"}}', {
      key: user.key,
    });
    expect(response.status).toBe(413);
    expect(response.json).toEqual({
      error: { code: 'payload_too_large', message: expect.any(String), details: { max_bytes: 12 * 1024 * 1024 } },
    });
    // Refused on its Content-Length before the key was read, like a 401: there is no caller to record.
    const rows = (await db.query('select outcome, error_code from a2p_requests where user_id = $1', [user.userId])).rows;
    expect(rows).toEqual([]);
  });

  it('answers a missing or unknown key with 401 in the API error shape, and records nothing', async () => {
    // Only this file writes a2p_requests, one test at a time: nothing else can move the count meanwhile.
    const count = async () => (await db.query('select count(*)::int as n from a2p_requests')).rows[0].n as number;
    const before = await count();
    for (const key of [null, 'tp_live_sk_unknown']) {
      const response = await rpc({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: UNKNOWN_ID } }, { key });
      expect(response.status).toBe(401);
      expect(response.json).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect(await count()).toBe(before);
  });
});

describe('audit', () => {
  it('records each request: user, key, method, task, outcome and time', async () => {
    const user = await createTestUser();
    const client = await a2aClientFor(user);
    const task = await sendForTask(client, userMessage([dataPart({ suite_id: GMAIL_SUITE_ID })]));
    await getTask(client, task.id);
    await expect(getTask(client, UNKNOWN_ID)).rejects.toBeInstanceOf(TaskNotFoundError);
    const rows = (
      await db.query(
        'select api_key_id, method, task_id, outcome, error_code, protocol_version, duration_ms, created_at from a2p_requests where user_id = $1 order by id',
        [user.userId],
      )
    ).rows;
    expect(rows).toMatchObject([
      { api_key_id: user.apiKeyId, method: 'SendMessage', task_id: task.id, outcome: 'ok', error_code: null, protocol_version: '1.0' },
      { api_key_id: user.apiKeyId, method: 'GetTask', task_id: task.id, outcome: 'ok', error_code: null },
      { api_key_id: user.apiKeyId, method: 'GetTask', task_id: UNKNOWN_ID, outcome: 'error', error_code: -32001 },
    ]);
    for (const row of rows) expect(row.created_at).toBeInstanceOf(Date);
  });
});
