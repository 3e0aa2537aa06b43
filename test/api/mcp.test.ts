import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  GITHUB_SUITE_ID,
  GMAIL_ACTION_TOOL_MAP_ID,
  GMAIL_MCP_SERVER_ID,
  GMAIL_SUITE_ID,
} from '../../shared/seed/catalog.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { callApi } from '../support/http.js';
import { waitForFreshWindow } from '../support/rateLimitWindow.js';
import { createSessionRow, eventually } from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';
import { GPT_4O, TRAINING_MESSAGES } from '../support/examples.js';

const INLINE_LIMIT = 256 * 1024;
const UNKNOWN_ID = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';

const EXPECTED_TOOLS = [
  'create_dataset',
  'create_example',
  'create_session',
  'get_dataset',
  'get_example',
  'get_example_messages',
  'get_mcp_server',
  'get_session',
  'get_suite',
  'get_usage',
  'list_datasets',
  'list_examples',
  'list_mcp_servers',
  'list_models',
  'list_sessions',
  'list_suites',
];
const CREATING_TOOLS = ['create_dataset', 'create_example', 'create_session'];

let db: pg.Client;
let pipeline: TestUser;
const blobs = () => BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
const mcpUrl = () => new URL(`${inject('apiUrl')}/v1/mcp`);

beforeAll(async () => {
  db = new pg.Client({ connectionString: inject('databaseUrl') });
  await db.connect();
  pipeline = await createTestUser({ scopes: ['api', 'pipeline'] });
});

afterAll(async () => {
  await db.end();
});

const openClients: Client[] = [];

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
});

/** An MCP client as an agent host runs one: the SDK's Client over Streamable HTTP, the key in a header. */
async function connect(key: string, headers: Record<string, string> = { 'X-API-Key': key }): Promise<Client> {
  const client = new Client({ name: 'tracepipe-tests', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl(), { requestInit: { headers } }));
  openClients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** The structured result of a successful call. */
async function ok<T = Record<string, any>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = await call(client, name, args);
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  // The same JSON comes as text too, for clients that read text only.
  const first = result.content[0];
  expect(first?.type).toBe('text');
  expect(JSON.parse((first as { text: string }).text)).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

/** The contract error of a failed call. */
async function toolError(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = await call(client, name, args);
  expect(result.isError, JSON.stringify(result)).toBe(true);
  return (result.structuredContent as { error: { code: string; message: string; details?: Record<string, unknown> } })
    .error;
}

/** One JSON-RPC POST as raw HTTP, checked against the OpenAPI document like every other test request. */
function rawPost(body: unknown, key: string | null, headers: Record<string, string> = {}) {
  return callApi('/v1/mcp', {
    method: 'POST',
    key,
    body,
    headers: { Accept: 'application/json, text/event-stream', ...headers },
  });
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

const MESSAGES = TRAINING_MESSAGES;
const jsonl = (messages: unknown[]) => messages.map((message) => JSON.stringify(message)).join('\n') + '\n';

/** An example of the user's driven to COMPLETED by the pipelines service, with this messages.jsonl. */
async function completedExample(client: Client, user: TestUser, messagesText = jsonl(MESSAGES)): Promise<string> {
  const sessionId = await createSessionRow(user.userId, GMAIL_SUITE_ID);
  const { example } = await ok(client, 'create_example', { session_id: sessionId, model_id: GPT_4O });
  const report = (body: unknown) =>
    callApi(`/v1/pipeline/examples/${example.id}`, { method: 'PATCH', key: pipeline.key, body });
  expect((await report({ status: 'PROCESSING' })).status).toBe(200);
  const blob = blobs().getContainerClient('examples').getBlockBlobClient(`${example.id}/messages.jsonl`);
  await blob.upload(messagesText, Buffer.byteLength(messagesText));
  const completed = await report({ status: 'COMPLETED', usage: { input_tokens: 1200, output_tokens: 340 } });
  expect(completed.status, completed.text).toBe(200);
  return example.id as string;
}

describe('the MCP endpoint over HTTP', () => {
  it('initializes as a stateless server with tools, resources and instructions', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    expect(client.getServerVersion()).toMatchObject({ name: 'tracepipe', version: '1.0.0' });
    expect(client.getServerCapabilities()).toMatchObject({ tools: {}, resources: {} });
    expect(client.getInstructions()).toContain('create_session');
    await client.ping();

    // Stateless: JSON answers and no Mcp-Session-Id to carry between requests.
    const response = await rawPost(INITIALIZE, user.key);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(response.headers.get('x-ratelimit-limit')).toBe('100');
    expect(response.json).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'tracepipe' } } });

    // Each request stands alone: a call needs no initialize before it (the README's curl example).
    const call = await rawPost({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'list_sessions' } }, user.key);
    expect(call.status).toBe(200);
    expect(call.json).toMatchObject({
      id: 7,
      result: { structuredContent: { items: [], total: 0 }, content: [{ type: 'text' }] },
    });
  });

  it('accepts the key as Authorization: Bearer too', async () => {
    const user = await createTestUser();
    const client = await connect(user.key, { Authorization: `Bearer ${user.key}` });
    const page = await ok(client, 'list_sessions');
    expect(page).toEqual({ items: [], total: 0, page: 1, per_page: 20 });
  });

  it('answers 401 in the contract shape without a key, and the SDK client fails to connect', async () => {
    const response = await rawPost(INITIALIZE, null);
    expect(response.status).toBe(401);
    expect(response.json).toMatchObject({ error: { code: 'unauthorized' } });
    const revoked = await rawPost(INITIALIZE, 'tp_live_sk_not-a-real-key');
    expect(revoked.status).toBe(401);
    // The challenge names the credential, so that a client asks for the key rather than starting OAuth (RFC 9110).
    for (const refused of [response, revoked]) {
      expect(refused.headers.get('www-authenticate')).toBe('ApiKey realm="tracepipe", header="X-API-Key"');
    }

    const client = new Client({ name: 'tracepipe-tests', version: '1.0.0' });
    await expect(client.connect(new StreamableHTTPClientTransport(mcpUrl()))).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('unauthorized'),
    });
  });

  it('answers GET and DELETE with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await callApi('/v1/mcp', { method, key: null, headers: { Accept: 'text/event-stream' } });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(response.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    }
  });

  it('refuses a body that is not JSON-RPC and a client that does not accept JSON, as the transport does', async () => {
    const user = await createTestUser();
    expect((await rawPost('{not json', user.key)).status).toBe(400);
    expect((await rawPost({ hello: 'world' }, user.key)).status).toBe(400);
    expect((await rawPost(INITIALIZE, user.key, { Accept: 'text/html' })).status).toBe(406);
    const tooLarge = await rawPost({ ...INITIALIZE, params: { ...INITIALIZE.params, padding: 'x'.repeat(300_000) } }, user.key);
    expect(tooLarge.status).toBe(413);
  });
});

describe('tools/list', () => {
  it('lists every tool with a description, a JSON Schema from zod and truthful annotations', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(EXPECTED_TOOLS);
    for (const tool of tools) {
      expect(tool.description?.length, tool.name).toBeGreaterThan(60);
      expect(tool.inputSchema.type, tool.name).toBe('object');
      expect(tool.title, tool.name).toBeTruthy();
      if (CREATING_TOOLS.includes(tool.name)) {
        expect(tool.annotations, tool.name).toMatchObject({
          readOnlyHint: false,
          destructiveHint: false,
          idempotentHint: false,
          openWorldHint: false,
        });
      } else {
        expect(tool.annotations, tool.name).toMatchObject({ readOnlyHint: true, idempotentHint: true, openWorldHint: false });
      }
    }
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    const schema = (name: string) => byName.get(name)?.inputSchema as {
      properties: Record<string, { type?: string; format?: string; enum?: string[]; maximum?: number; description?: string }>;
      required?: string[];
    };
    expect(schema('get_session').required).toEqual(['session_id']);
    expect(schema('get_session').properties.session_id).toMatchObject({ type: 'string', format: 'uuid' });
    expect(schema('create_example').required).toEqual(['session_id', 'model_id']);
    expect(Object.keys(schema('create_example').properties).sort()).toEqual(
      ['action_tool_map_id', 'idempotency_key', 'model_configuration', 'model_id', 'session_id'],
    );
    expect(schema('create_session').required).toEqual(['suite_id']);
    expect(schema('list_examples').properties.status?.enum).toEqual(['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED']);
    expect(schema('list_examples').properties.per_page).toMatchObject({ type: 'integer', maximum: 100 });
    expect(schema('list_examples').properties.per_page?.description).toMatch(/1 to 100/);
    expect(schema('list_suites').required ?? []).toEqual([]);
  });
});

describe('catalog tools', () => {
  it('lists and reads suites with actions, MCP servers with tools, and models', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);

    const suites = await ok(client, 'list_suites', { per_page: 100 });
    expect(suites.items.map((suite: { id: string }) => suite.id)).toContain(GMAIL_SUITE_ID);
    expect(await ok(client, 'list_suites', { name: 'gmail' })).toMatchObject({ total: 1, items: [{ id: GMAIL_SUITE_ID }] });

    const gmail = await ok(client, 'get_suite', { suite_id: GMAIL_SUITE_ID });
    expect(gmail).toMatchObject({ id: GMAIL_SUITE_ID, name: 'Gmail' });
    expect(gmail.actions.length).toBeGreaterThan(0);
    expect(gmail.actions[0]).toHaveProperty('parameters');
    // The same document as REST.
    expect((await callApi(`/v1/suites/${GMAIL_SUITE_ID}`, { key: user.key })).json).toEqual(gmail);

    const servers = await ok(client, 'list_mcp_servers');
    expect(servers.items.map((server: { id: string }) => server.id)).toContain(GMAIL_MCP_SERVER_ID);
    const server = await ok(client, 'get_mcp_server', { mcp_server_id: GMAIL_MCP_SERVER_ID });
    expect(server.id).toBe(GMAIL_MCP_SERVER_ID);
    expect(server.tools.length).toBeGreaterThan(0);
    expect(server.tools[0]).toHaveProperty('parameters');

    const models = await ok(client, 'list_models', { provider: 'OPENAI', per_page: 100 });
    expect(models.items).toContainEqual(expect.objectContaining({ id: GPT_4O, usage_name: 'openai/gpt-4o' }));
    expect(models.items.every((model: { provider: string }) => model.provider === 'OPENAI')).toBe(true);

    expect(await toolError(client, 'get_suite', { suite_id: UNKNOWN_ID })).toMatchObject({ code: 'not_found' });
    expect(await toolError(client, 'get_mcp_server', { mcp_server_id: UNKNOWN_ID })).toMatchObject({ code: 'not_found' });
  });
});

describe('session tools', () => {
  it('creates a session whose upload URL and instructions lead to a ready session', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    const result = await call(client, 'create_session', { suite_id: GMAIL_SUITE_ID, description: 'From an agent' });
    expect(result.isError).toBeFalsy();
    const { session, upload, instructions } = result.structuredContent as Record<string, any>;
    expect(session).toMatchObject({ suite_id: GMAIL_SUITE_ID, description: 'From an agent', status: 'awaiting_upload' });
    expect(upload).toMatchObject({ method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' } });
    expect(new URL(upload.url).pathname).toMatch(new RegExp(`/uploads/${session.id}/1/upload$`));
    expect(instructions.length).toBeGreaterThanOrEqual(3);
    expect(instructions.join('\n')).toMatch(/x-ms-blob-type: BlockBlob/);
    // The steps are also plain text for the model.
    expect(result.content.some((part) => part.type === 'text' && part.text.includes('get_session'))).toBe(true);

    const { rows } = await db.query('select user_id, suite_id, status from sessions where id = $1', [session.id]);
    expect(rows).toEqual([{ user_id: user.userId, suite_id: GMAIL_SUITE_ID, status: 'awaiting_upload' }]);

    // Follow the instructions: one PUT with the header, then get_session until ready.
    const trace = [
      { type: 'keydown', ts: 1_000_000, key: 'a' },
      { name: 'click', ts: 2_000_000, x: 1, y: 2 },
    ]
      .map((event) => JSON.stringify(event))
      .join('\n');
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: trace });
    expect(put.status).toBe(201);
    const ready = await eventually('the session to be indexed', async () => {
      const current = await ok(client, 'get_session', { session_id: session.id });
      return current.status === 'ready' ? current : undefined;
    });
    expect(ready).toMatchObject({ id: session.id, event_count: 2, size_bytes: Buffer.byteLength(trace) });

    const listed = await ok(client, 'list_sessions', { suite_id: GMAIL_SUITE_ID });
    expect(listed).toMatchObject({ total: 1, items: [{ id: session.id }] });
    expect(await ok(client, 'list_sessions', { suite_id: GITHUB_SUITE_ID })).toMatchObject({ total: 0, items: [] });
  });

  it('creates a session for a recording of any format: a bundle uploaded to its URL becomes ready with its screenshots', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    const { session, upload } = await ok(client, 'create_session', { suite_id: GMAIL_SUITE_ID, format: 'recorder-bundle' });
    expect(new URL(upload.url).pathname).toMatch(/\/1\/recording\.zip$/);
    const bundle = readFileSync(join(PROJECT_ROOT, 'test/fixtures/samples/recorder-bundle.zip'));
    expect((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: new Uint8Array(bundle) })).status).toBe(201);
    const ready = await eventually('the bundle to be indexed', async () => {
      const current = await ok(client, 'get_session', { session_id: session.id });
      return current.status === 'ready' || current.status === 'invalid' ? current : undefined;
    });
    expect(ready).toMatchObject({ status: 'ready', format: 'recorder-bundle', event_count: 92, screenshot_count: 3 });
    const refused = await call(client, 'create_session', { suite_id: GMAIL_SUITE_ID, format: 'har' });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/format/);
  });

  it("answers not_found for an unknown session and for another user's, and never lists theirs", async () => {
    const owner = await createTestUser();
    const other = await createTestUser();
    const theirs = await createSessionRow(owner.userId, GMAIL_SUITE_ID);
    const client = await connect(other.key);

    const unknown = await toolError(client, 'get_session', { session_id: UNKNOWN_ID });
    expect(unknown).toEqual({ code: 'not_found', message: 'No such session.' });
    const result = await call(client, 'get_session', { session_id: theirs });
    expect(result.content).toEqual([{ type: 'text', text: 'not_found: No such session.' }]);
    expect(result.structuredContent).toEqual({ error: { code: 'not_found', message: 'No such session.' } });
    expect(await ok(client, 'list_sessions')).toMatchObject({ total: 0, items: [] });
    expect(await toolError(client, 'create_example', { session_id: theirs, model_id: GPT_4O })).toMatchObject({
      code: 'not_found',
    });
  });

  it("applies a suite-limited key's restriction: forbidden to create elsewhere, other suites unseen", async () => {
    const user = await createTestUser({ suiteIds: [GMAIL_SUITE_ID] });
    const github = await createSessionRow(user.userId, GITHUB_SUITE_ID);
    const gmail = await createSessionRow(user.userId, GMAIL_SUITE_ID);
    const client = await connect(user.key);
    expect(await toolError(client, 'create_session', { suite_id: GITHUB_SUITE_ID })).toMatchObject({
      code: 'forbidden',
      details: { suite_id: GITHUB_SUITE_ID },
    });
    expect(await toolError(client, 'get_session', { session_id: github })).toMatchObject({ code: 'not_found' });
    const listed = await ok(client, 'list_sessions');
    expect(listed.items.map((session: { id: string }) => session.id)).toEqual([gmail]);
  });

  it('reports invalid arguments as a tool error, and an unknown suite as validation_error', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    const malformed = await call(client, 'get_session', { session_id: 'not-a-uuid' });
    expect(malformed.isError).toBe(true);
    expect(JSON.stringify(malformed.content)).toMatch(/session_id/);
    expect(await toolError(client, 'create_session', { suite_id: UNKNOWN_ID })).toMatchObject({
      code: 'validation_error',
      details: { fields: [expect.objectContaining({ field: 'suite_id' })] },
    });
  });

  it('limits create_session to 10 a minute per key, as POST /v1/sessions', { timeout: 60_000 }, async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    await waitForFreshWindow(db);
    for (let i = 0; i < 10; i++) await ok(client, 'create_session', { suite_id: GMAIL_SUITE_ID });
    const limited = await toolError(client, 'create_session', { suite_id: GMAIL_SUITE_ID });
    expect(limited).toMatchObject({ code: 'rate_limited', details: { limit: 10 } });
    const { rows } = await db.query('select count(*)::int as n from sessions where user_id = $1', [user.userId]);
    expect(rows[0].n).toBe(10);
  });
});

describe('example tools', () => {
  it('creates, lists and reads examples, with the job queued and retries made safe by idempotency_key', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    const sessionId = await createSessionRow(user.userId, GMAIL_SUITE_ID);

    const created = await ok(client, 'create_example', {
      session_id: sessionId,
      model_id: GPT_4O,
      model_configuration: { temperature: 0.2 },
      idempotency_key: `mcp-${sessionId}`,
    });
    expect(created.replayed).toBe(false);
    expect(created.example).toMatchObject({
      session_id: sessionId,
      suite_id: GMAIL_SUITE_ID,
      model_id: GPT_4O,
      action_tool_map_id: GMAIL_ACTION_TOOL_MAP_ID,
      model_configuration: { temperature: 0.2 },
      status: 'PENDING',
      usage: null,
    });
    const id = created.example.id as string;
    const { rows } = await db.query('select user_id, session_id, status from examples where id = $1', [id]);
    expect(rows).toEqual([{ user_id: user.userId, session_id: sessionId, status: 'PENDING' }]);
    // The job went out (its outbox row is gone once the queue has it).
    const outbox = await db.query('select count(*)::int as n from example_job_outbox where example_id = $1', [id]);
    expect(outbox.rows[0].n).toBe(0);

    const again = await ok(client, 'create_example', {
      session_id: sessionId,
      model_id: GPT_4O,
      model_configuration: { temperature: 0.2 },
      idempotency_key: `mcp-${sessionId}`,
    });
    expect(again).toMatchObject({ replayed: true, example: { id } });
    // The same key through REST with the same request replays the same example.
    const rest = await callApi('/v1/examples', {
      method: 'POST',
      key: user.key,
      headers: { 'Idempotency-Key': `mcp-${sessionId}` },
      body: { session_id: sessionId, model_id: GPT_4O, model_configuration: { temperature: 0.2 } },
    });
    expect(rest.status).toBe(201);
    expect(rest.json).toMatchObject({ id });

    expect(await ok(client, 'get_example', { example_id: id })).toEqual(created.example);
    expect(await ok(client, 'list_examples', { session_id: sessionId })).toMatchObject({ total: 1, items: [{ id }] });
    expect(await ok(client, 'list_examples', { status: 'COMPLETED' })).toMatchObject({ total: 0 });

    expect(await toolError(client, 'get_example_messages', { example_id: id })).toMatchObject({
      code: 'conflict',
      details: { status: 'PENDING' },
    });
    const notReady = await createSessionRow(user.userId, GMAIL_SUITE_ID, 'processing');
    expect(await toolError(client, 'create_example', { session_id: notReady, model_id: GPT_4O })).toMatchObject({
      code: 'conflict',
    });
    expect(await toolError(client, 'get_example', { example_id: UNKNOWN_ID })).toMatchObject({ code: 'not_found' });
  });

  it('returns the messages of a completed example inline, and as the example messages resource', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    const id = await completedExample(client, user);

    const messages = await ok(client, 'get_example_messages', { example_id: id });
    expect(messages).toEqual({
      example_id: id,
      format: 'raw',
      inline: true,
      size_bytes: Buffer.byteLength(jsonl(MESSAGES)),
      line_count: 3,
      messages: MESSAGES,
      resource_uri: `tracepipe://examples/${id}/messages`,
    });

    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates).toContainEqual(
      expect.objectContaining({ uriTemplate: 'tracepipe://examples/{id}/messages', mimeType: 'application/jsonl' }),
    );
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual([`tracepipe://examples/${id}/messages`]);
    const read = await client.readResource({ uri: `tracepipe://examples/${id}/messages` });
    expect(read.contents).toEqual([
      { uri: `tracepipe://examples/${id}/messages`, mimeType: 'application/jsonl', text: jsonl(MESSAGES) },
    ]);

    // Someone else cannot read them, by tool or resource.
    const other = await connect((await createTestUser()).key);
    expect(await toolError(other, 'get_example_messages', { example_id: id })).toMatchObject({ code: 'not_found' });
    await expect(other.readResource({ uri: `tracepipe://examples/${id}/messages` })).rejects.toMatchObject({
      code: -32002,
      data: { code: 'not_found' },
    });
  });

  it('names the REST download instead of inlining messages over the limit', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    const long = Array.from({ length: 300 }, (_, i) => ({ role: 'user', content: `${i} ${'x'.repeat(1000)}` }));
    const text = jsonl([MESSAGES[0], ...long, MESSAGES[2]]);
    expect(Buffer.byteLength(text)).toBeGreaterThan(INLINE_LIMIT);
    const id = await completedExample(client, user, text);

    const result = await call(client, 'get_example_messages', { example_id: id });
    expect(result.structuredContent).toEqual({
      example_id: id,
      format: 'raw',
      inline: false,
      size_bytes: Buffer.byteLength(text),
      limit_bytes: INLINE_LIMIT,
      download: {
        method: 'GET',
        url: `${inject('apiUrl')}/v1/examples/${id}/messages`,
        headers: { 'X-API-Key': '<your API key>' },
        content_type: 'application/jsonl',
      },
    });
    const download = await fetch(`${inject('apiUrl')}/v1/examples/${id}/messages`, { headers: { 'X-API-Key': user.key } });
    expect(download.status).toBe(200);
    expect(await download.text()).toBe(text);
    await expect(client.readResource({ uri: `tracepipe://examples/${id}/messages` })).rejects.toMatchObject({
      data: { limit_bytes: INLINE_LIMIT },
    });
  });
});

describe('get_usage', () => {
  it("reports this month's tokens by model, as GET /v1/usage does", async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    await completedExample(client, user);
    const usage = await ok(client, 'get_usage');
    expect(usage).toMatchObject({
      tokens: { total: 1540, by_model: { 'openai/gpt-4o': 1540 } },
      examples_generated: 1,
      estimated_cost: { currency: expect.any(String) },
    });
    expect(Date.parse(usage.billing_period.start)).toBeLessThanOrEqual(Date.now());
    const rest = await callApi('/v1/usage', { key: user.key });
    expect((rest.json as Record<string, unknown>).tokens).toEqual(usage.tokens);
    expect(await ok(client, 'get_usage', { suite_id: GITHUB_SUITE_ID })).toMatchObject({ tokens: { total: 0 } });
    expect(await toolError(client, 'get_usage', { suite_id: UNKNOWN_ID })).toMatchObject({ code: 'not_found' });
  });
});

describe('dataset tools and message formats', () => {
  it('serves an example\'s messages in a provider format, inline', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    const id = await completedExample(client, user);
    const anthropic = await ok(client, 'get_example_messages', { example_id: id, format: 'anthropic' });
    const rest = await callApi(`/v1/examples/${id}/messages?format=anthropic`, { key: user.key });
    expect(anthropic).toEqual({ example_id: id, format: 'anthropic', inline: true, size_bytes: Buffer.byteLength(rest.text), record: JSON.parse(rest.text) });
    expect(anthropic.record.system).toBe(MESSAGES[0]!.content);
    // Arguments outside the schema are refused by the SDK before the tool runs, naming the field.
    const unknown = await call(client, 'get_example_messages', { example_id: id, format: 'csv' });
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toContain('format');
  });

  it('creates a dataset, follows it to ready and lists it, as the REST API does', async () => {
    const user = await createTestUser();
    const client = await connect(user.key);
    await completedExample(client, user);
    const created = await ok(client, 'create_dataset', { name: 'by agent', format: 'trl', seed: 5 });
    expect(created).toMatchObject({ name: 'by agent', status: 'building', format: 'trl', seed: 5, files: null });
    const ready = await eventually('the dataset', async () => {
      const dataset = await ok(client, 'get_dataset', { dataset_id: created.id });
      return dataset.status === 'building' ? undefined : dataset;
    });
    expect(ready).toMatchObject({ status: 'ready', counts: { matched: 1, train: 1 } });
    expect(ready.downloads['train.jsonl']).toEqual({
      method: 'GET',
      url: `${inject('apiUrl')}/v1/datasets/${created.id}/files/train.jsonl`,
      headers: { 'X-API-Key': '<your API key>' },
      content_type: 'application/jsonl',
      signed_url: `${inject('apiUrl')}/v1/datasets/${created.id}/files/train.jsonl?download=url`,
    });
    const { downloads: _downloads, ...withoutDownloads } = ready;
    expect(withoutDownloads).toEqual((await callApi(`/v1/datasets/${created.id}`, { key: user.key })).json);
    const list = await ok(client, 'list_datasets', { status: 'ready' });
    expect(list).toMatchObject({ total: 1, items: [{ id: created.id }] });

    expect(await toolError(client, 'create_dataset', { name: 'x', format: 'openai', suite_id: UNKNOWN_ID })).toMatchObject({
      code: 'validation_error',
      details: { fields: [{ field: 'suite_id' }] },
    });
    const other = await connect((await createTestUser()).key);
    expect(await toolError(other, 'get_dataset', { dataset_id: created.id })).toMatchObject({ code: 'not_found' });
  });
});

describe('many clients at once', () => {
  it('serves 20 concurrent clients (over 4 keys) each listing suites', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, () => createTestUser()));
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const client = await connect(users[i % users.length]!.key);
        const page = await ok(client, 'list_suites', { per_page: 100 });
        return page.items.map((suite: { id: string }) => suite.id).sort() as string[];
      }),
    );
    expect(results).toHaveLength(20);
    for (const ids of results) {
      expect(ids).toContain(GMAIL_SUITE_ID);
      expect(ids).toEqual(results[0]);
    }
  });
});
