import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import type { ApiKeyScope } from '../../shared/db/schema.js';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { uniqueName } from '../support/catalog.js';
import { createExampleViaApi } from '../support/examples.js';
import { callApi } from '../support/http.js';
import { createTestUser, type TestUser } from '../support/users.js';

/*
 * The scope matrix (README "Scopes"), enforced: a pipeline-only key does what the pipelines service needs and
 * nothing else, over REST, MCP and A2P alike; a catalog:write-only key reads and writes the catalog only.
 */

const db = useApiDatabaseClient();
let apiUser: TestUser;
/** The same user's second key, holding only `pipeline`. */
let pipelineKey: string;
let catalogOnly: TestUser;

/** One more key for an existing user, with the given scopes, written as the API writes keys. */
async function addKey(userId: string, scopes: ApiKeyScope[]): Promise<string> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    const key = generateApiKeySecret();
    await client.query(
      `insert into api_keys (user_id, name, prefix, key_hash, scopes) values ($1, 'second key', $2, $3, $4)`,
      [userId, maskApiKeySecret(key), hashApiKeySecret(key, inject('apiKeyHmacSecret')), scopes],
    );
    return key;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  apiUser = await createTestUser();
  pipelineKey = await addKey(apiUser.userId, ['pipeline']);
  catalogOnly = await createTestUser({ scopes: ['catalog:write'] });
});

async function sessionsOf(userId: string): Promise<number> {
  return (await db.query('select count(*)::int as n from sessions where user_id = $1', [userId])).rows[0].n as number;
}

function expectForbidden(response: { status: number; json: unknown }, what: string): void {
  expect(response.status, what).toBe(403);
  expect(response.json, what).toMatchObject({ error: { code: 'forbidden', details: { required_scope: 'api' } } });
}

describe('a pipeline-only key over REST', () => {
  it('reads the catalog and reports on examples', async () => {
    for (const path of ['/v1/suites', `/v1/suites/${GMAIL_SUITE_ID}`, '/v1/mcp-servers', '/v1/action-tool-maps', '/v1/models']) {
      expect((await callApi(path, { key: pipelineKey })).status, path).toBe(200);
    }
    const example = await createExampleViaApi(apiUser);
    const update = await callApi(`/v1/pipeline/examples/${example.id}`, {
      method: 'PATCH',
      key: pipelineKey,
      body: { status: 'PROCESSING' },
    });
    expect(update.status).toBe(200);
    expect(update.json).toMatchObject({ id: example.id, status: 'PROCESSING' });
  });

  it('can do nothing a user does: 403 naming the api scope, and nothing is created', async () => {
    const before = await sessionsOf(apiUser.userId);
    const calls: Array<[string, string, unknown?]> = [
      ['POST', '/v1/sessions', { suite_id: GMAIL_SUITE_ID }],
      ['GET', '/v1/sessions'],
      ['GET', '/v1/examples'],
      ['POST', '/v1/examples', { session_id: randomUUID(), model_id: randomUUID() }],
      ['GET', '/v1/users/me'],
      ['GET', '/v1/usage'],
      ['GET', '/v1/invoices'],
      ['GET', '/v1/api-keys'],
      ['POST', '/v1/api-keys', { name: 'escalate' }],
    ];
    for (const [method, path, body] of calls) expectForbidden(await callApi(path, { method, key: pipelineKey, body }), `${method} ${path}`);
    expect(await sessionsOf(apiUser.userId)).toBe(before);
    expect((await db.query('select count(*)::int as n from api_keys where user_id = $1', [apiUser.userId])).rows[0].n).toBe(2);
  });
});

describe('a catalog:write-only key', () => {
  it('reads and writes the catalog, and nothing else', async () => {
    const created = await callApi('/v1/suites', { method: 'POST', key: catalogOnly.key, body: { name: uniqueName('scoped') } });
    expect(created.status).toBe(201);
    expect((await callApi('/v1/suites', { key: catalogOnly.key })).status).toBe(200);
    expectForbidden(await callApi('/v1/sessions', { key: catalogOnly.key }), 'GET /v1/sessions');
  });

  it('while an api-only key cannot write the catalog', async () => {
    const response = await callApi('/v1/suites', { method: 'POST', key: apiUser.key, body: { name: uniqueName('nope') } });
    expect(response.status).toBe(403);
    expect(response.json).toMatchObject({ error: { details: { required_scope: 'catalog:write' } } });
  });
});

describe('a pipeline-only key over MCP', () => {
  it('may call the catalog tools; the others are forbidden tool errors that change nothing', async () => {
    const client = new Client({ name: 'scopes-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${inject('apiUrl')}/v1/mcp`), {
        requestInit: { headers: { 'X-API-Key': pipelineKey } },
      }),
    );
    try {
      const suites = await client.callTool({ name: 'list_suites', arguments: {} });
      expect(suites.isError).toBeFalsy();
      const before = await sessionsOf(apiUser.userId);
      for (const [name, args] of [
        ['create_session', { suite_id: GMAIL_SUITE_ID }],
        ['list_sessions', {}],
        ['list_examples', {}],
        ['get_usage', {}],
      ] as const) {
        const result = await client.callTool({ name, arguments: args });
        expect(result.isError, name).toBe(true);
        expect(result.structuredContent, name).toMatchObject({ error: { code: 'forbidden', details: { required_scope: 'api' } } });
      }
      expect(await sessionsOf(apiUser.userId)).toBe(before);
      await expect(client.listResources()).rejects.toThrow(/api scope/);
    } finally {
      await client.close();
    }
  });
});

describe('a pipeline-only key over A2P', () => {
  const rpc = (key: string, method: string, params: unknown) =>
    callApi('/v1/a2p', {
      method: 'POST',
      key,
      headers: { 'A2A-Version': '1.0' },
      body: { jsonrpc: '2.0', id: 1, method, params },
    });
  const message = (parts: unknown[]) => ({ message: { messageId: randomUUID(), role: 'ROLE_USER', parts } });

  it('gets catalog answers, is refused process-trace and usage, and sees no tasks', async () => {
    const catalog = await rpc(pipelineKey, 'SendMessage', message([{ data: { skill: 'catalog', query: 'models' } }]));
    expect(JSON.stringify(catalog.json)).toContain('openai');

    const tasksBefore = (await db.query('select count(*)::int as n from a2p_tasks where user_id = $1', [apiUser.userId])).rows[0].n;
    for (const parts of [
      [{ data: { skill: 'usage' } }],
      [{ data: { suite_id: GMAIL_SUITE_ID, model_id: randomUUID() } }],
    ]) {
      const refused = await rpc(pipelineKey, 'SendMessage', message(parts));
      expect(JSON.stringify(refused.json)).toContain('"code":"forbidden"');
    }
    expect((await db.query('select count(*)::int as n from a2p_tasks where user_id = $1', [apiUser.userId])).rows[0].n).toBe(tasksBefore);

    // A task the same user made with an api key does not exist for the pipeline key.
    const made = await rpc(apiUser.key, 'SendMessage', message([{ data: { suite_id: GMAIL_SUITE_ID } }]));
    const taskId = (made.json as { result: { task: { id: string } } }).result.task.id;
    expect((await rpc(apiUser.key, 'GetTask', { id: taskId })).json).toMatchObject({ result: { id: taskId } });
    expect((await rpc(pipelineKey, 'GetTask', { id: taskId })).json).toMatchObject({ error: { code: -32001 } });
    expect((await rpc(pipelineKey, 'ListTasks', {})).json).toMatchObject({ result: { totalSize: 0 } });
  });
});

describe('the scope matrix as written', () => {
  interface Operation {
    security?: Array<Record<string, string[]>>;
    description?: string;
  }

  it('in the README agrees with the OpenAPI document, which agrees with what is enforced', async () => {
    const document = (await callApi('/v1/openapi.json', { key: null })).json as {
      paths: Record<string, Record<string, Operation>>;
    };
    const scopesOf = new Map<string, string>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const scopes = [...new Set((operation.security ?? []).flatMap((requirement) => Object.values(requirement).flat()))].sort();
        if (scopes.length > 0) scopesOf.set(`${method.toUpperCase()} ${path}`, scopes.join(' '));
        if (scopes.length > 0) expect(operation.description, `${method} ${path}`).toContain('**Scope:**');
      }
    }
    const readme = readFileSync(resolve(PROJECT_ROOT, 'README.md'), 'utf8');
    const table = /<!-- scope-matrix -->([\s\S]*?)<!-- \/scope-matrix -->/.exec(readme)?.[1] ?? '';
    const rows = table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| scope'));
    const expected: Record<string, string> = {
      any: 'api catalog:write pipeline',
      '`api`': 'api',
      '`catalog:write`': 'catalog:write',
      '`pipeline`': 'pipeline',
    };
    const listed = new Map<string, string>();
    for (const row of rows) {
      const [scopeCell, restCell] = row.split('|').slice(1, 3).map((cell) => cell.trim());
      const key = Object.keys(expected).find((prefix) => scopeCell?.startsWith(prefix));
      expect(key, row).toBeDefined();
      for (const match of (restCell ?? '').matchAll(/`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`/g)) {
        listed.set(`${match[1]} ${match[2]}`, expected[key as string] as string);
      }
    }
    expect(rows.length).toBe(4);
    for (const [operation, scopes] of listed) expect(scopesOf.get(operation), operation).toBe(scopes);
    // Everything beyond the default is listed (the api row may name only some of its operations).
    for (const [operation, scopes] of scopesOf) {
      if (scopes !== 'api') expect(listed.get(operation), operation).toBe(scopes);
    }
  });
});
