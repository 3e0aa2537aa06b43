import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { writerKey } from '../support/catalog.js';
import { GPT_4O } from '../support/examples.js';
import { callApi, type ApiResponse } from '../support/http.js';
import { createTestUser, type TestUser } from '../support/users.js';

/*
 * Input an attacker or a fuzzer sends: text PostgreSQL cannot store, JSON nested deeper than any stack, integers
 * spelled the way Number() also reads. Each is a 4xx naming the field and changes nothing; none is a 500.
 */

const db = useApiDatabaseClient();
let user: TestUser;
let writer: string;

beforeAll(async () => {
  user = await createTestUser();
  writer = await writerKey();
});

interface FieldError {
  location: string;
  field: string;
  message: string;
}

function fieldsOf(response: ApiResponse): FieldError[] {
  return ((response.json as { error?: { details?: { fields?: FieldError[] } } }).error?.details?.fields ?? []);
}

function expectInvalidField(response: ApiResponse, location: string, field: string): void {
  expect(response.status, response.text).toBe(422);
  expect((response.json as { error: { code: string } }).error.code).toBe('validation_error');
  expect(fieldsOf(response)).toContainEqual({ location, field, message: expect.any(String) });
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await db.query(`select count(*)::int as n from ${sql}`, params)).rows[0].n as number;
}

/** n objects nested in each other: {"a":{"a":...{"a":1}}}, as text (JSON.stringify itself could not). */
function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{"a":1}' + '}'.repeat(depth - 1);
}

describe('text that cannot be stored (NUL, lone surrogates)', () => {
  it('is 422 naming the field in a JSON body, and creates nothing', async () => {
    const before = await count('suites');
    for (const name of ['a\u0000b', 'lone \ud800 high', 'lone \udc00 low']) {
      const response = await callApi('/v1/suites', { method: 'POST', key: writer, body: { name } });
      expectInvalidField(response, 'body', 'name');
    }
    expect(await count('suites')).toBe(before);
  });

  it('is 422 naming the field in a query and in a path', async () => {
    expectInvalidField(await callApi('/v1/suites?name=a%00b', { key: user.key }), 'query', 'name');
    expectInvalidField(await callApi('/v1/mcp-servers?name=x%00', { key: user.key }), 'query', 'name');
    const path = await callApi('/v1/sessions/a%00b', { key: user.key });
    expect(path.status).toBe(422);
  });

  it('is 422 in the keys and values of a free-form object, naming where', async () => {
    const body = { session_id: randomUUID(), model_id: GPT_4O, model_configuration: { 'bad\u0000key': 1, ok: ['x\ud83d'] } };
    const response = await callApi('/v1/examples', { method: 'POST', key: user.key, body });
    expectInvalidField(response, 'body', 'model_configuration.bad\\u0000key');
    expectInvalidField(response, 'body', 'model_configuration.ok.0');
  });

  it('is 422 in a multipart field, and leaves no session', async () => {
    const before = await count('sessions where user_id = $1', [user.userId]);
    const form = new FormData();
    form.append('suite_id', GMAIL_SUITE_ID);
    form.append('description', 'a\u0000b');
    form.append('input_events', new Blob(['{"ts":1,"type":"click"}\n']), 'input_events.jsonl');
    const response = await fetch(`${inject('apiUrl')}/v1/sessions`, { method: 'POST', headers: { 'X-API-Key': user.key }, body: form });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { error: { details: { fields: FieldError[] } } }).error.details.fields).toContainEqual({
      location: 'body',
      field: 'description',
      message: expect.any(String),
    });
    expect(await count('sessions where user_id = $1', [user.userId])).toBe(before);
  });

  it('is a validation_error tool result in MCP tool arguments', async () => {
    const client = new Client({ name: 'hostile-input-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${inject('apiUrl')}/v1/mcp`), {
        requestInit: { headers: { 'X-API-Key': user.key } },
      }),
    );
    try {
      const result = await client.callTool({ name: 'list_suites', arguments: { name: 'a\u0000b' } });
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toMatchObject({
        error: { code: 'validation_error', details: { fields: [{ field: 'name' }] } },
      });
    } finally {
      await client.close();
    }
  });

  it('is -32602 naming the field in an A2P request, and stores no task', async () => {
    const before = await count('a2p_tasks where user_id = $1', [user.userId]);
    const message = {
      messageId: randomUUID(),
      role: 'ROLE_USER',
      parts: [{ text: 'list the suites\u0000' }],
    };
    const response = await callApi('/v1/a2p', {
      method: 'POST',
      key: user.key,
      headers: { 'A2A-Version': '1.0' },
      body: { jsonrpc: '2.0', id: 7, method: 'SendMessage', params: { message } },
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      id: 7,
      error: { code: -32602, data: { fields: [{ field: 'params.message.parts.0.text' }] } },
    });
    expect(await count('a2p_tasks where user_id = $1', [user.userId])).toBe(before);
  });
});

describe('deeply nested free-form JSON', () => {
  const post = (modelConfiguration: string) =>
    callApi('/v1/examples', {
      method: 'POST',
      key: user.key,
      body: `{"session_id":"${randomUUID()}","model_id":"${GPT_4O}","model_configuration":${modelConfiguration}}`,
    });

  it('is 422 naming the field at 5,000 levels (it overflowed the stack), and at 33', async () => {
    for (const depth of [5_000, 33]) {
      const response = await post(nestedObjects(depth));
      expectInvalidField(response, 'body', 'model_configuration');
      expect(fieldsOf(response)[0]?.message).toContain('32');
    }
  });

  it('passes validation at 32 levels (then the unknown session is 404)', async () => {
    const response = await post(nestedObjects(32));
    expect(response.status, response.text).toBe(404);
  });

  it('is 422 over the size limit, counted as its compact JSON', async () => {
    const response = await post(JSON.stringify({ text: 'x'.repeat(16 * 1024) }));
    expectInvalidField(response, 'body', 'model_configuration');
  });

  it('is -32602 in an A2P request, whatever part holds it', async () => {
    const response = await callApi('/v1/a2p', {
      method: 'POST',
      key: user.key,
      headers: { 'A2A-Version': '1.0' },
      body:
        `{"jsonrpc":"2.0","id":8,"method":"SendMessage","params":{"message":{"messageId":"${randomUUID()}",` +
        `"role":"ROLE_USER","parts":[{"data":${nestedObjects(5_000)}}]}}}`,
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ id: 8, error: { code: -32602, message: expect.stringContaining('48') } });
  });
});

describe('integers in queries', () => {
  it('are decimal digits only: 0x10, 1e1, " 2", "" and 1.0 are 422 naming the field', async () => {
    for (const value of ['0x10', '1e1', '%202', '', '1.0', '-1', '99999999999999999999']) {
      expectInvalidField(await callApi(`/v1/suites?page=${value}`, { key: user.key }), 'query', 'page');
    }
    expectInvalidField(await callApi('/v1/invoices?per_page=0x10', { key: user.key }), 'query', 'per_page');
  });

  it('reads digits as the number they spell', async () => {
    const response = await callApi('/v1/suites?page=02&per_page=1', { key: user.key });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ page: 2, per_page: 1 });
  });
});
