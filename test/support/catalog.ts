import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { callApi } from './http.js';
import { createTestUser } from './users.js';

/*
 * What the catalog test files share. The catalog is shared by every test file running in parallel, so each test
 * creates entries of its own with unique names, and only ever counts what it created.
 */

/** A client of the test database, connected for the calling file's tests, and a row counter over it. */
export function useCatalogDatabase() {
  const db = new pg.Client({ connectionString: inject('databaseUrl') });
  beforeAll(async () => {
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
  });

  async function countRows(sql: string, params: unknown[]): Promise<number> {
    const { rows } = await db.query<{ n: string }>(`select count(*) as n from (${sql}) as counted`, params);
    return Number(rows[0]!.n);
  }

  return { db, countRows };
}

export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A key that may write the catalog, of a user of the test's own (so that no test eats another's rate limit). */
export async function writerKey(): Promise<string> {
  return (await createTestUser({ scopes: ['api', 'catalog:write'] })).key;
}

/** A key with only the `api` scope, of a user of the test's own. */
export async function readerKey(): Promise<string> {
  return (await createTestUser({ scopes: ['api'] })).key;
}

export interface Parameter {
  id: string;
  name: string;
  type: string;
  required: boolean;
  description: string | null;
}
export interface Action {
  id: string;
  suite_id: string;
  name: string;
  description: string | null;
  parameters: Parameter[];
  created_at: string;
  updated_at: string;
}
export interface Tool {
  id: string;
  mcp_server_id: string;
  name: string;
  description: string | null;
  parameters: Parameter[];
  created_at: string;
  updated_at: string;
}
export interface Suite {
  id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
  actions: Action[];
}
export interface McpServer {
  id: string;
  name: string;
  description: string | null;
  url: string | null;
  created_at: string;
  updated_at: string;
  tools: Tool[];
}
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** Creates a suite of a unique name (unless the body names it) and expects it created. */
export async function createSuite(key: string, body: Record<string, unknown> = {}): Promise<Suite> {
  const response = await callApi('/v1/suites', { method: 'POST', key, body: { name: uniqueName('Suite'), ...body } });
  expect(response.status, response.text).toBe(201);
  return response.json as Suite;
}

/** Creates an MCP server of a unique name (unless the body names it) and expects it created. */
export async function createServer(key: string, body: Record<string, unknown> = {}): Promise<McpServer> {
  const response = await callApi('/v1/mcp-servers', {
    method: 'POST',
    key,
    body: { name: uniqueName('server'), ...body },
  });
  expect(response.status, response.text).toBe(201);
  return response.json as McpServer;
}
