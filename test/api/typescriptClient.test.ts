import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTracepipeClient, retryingFetch } from '../../clients/typescript/src/index.js';
import { CLIENT_SCHEMA_FILE, typescriptClientSchema } from '../../scripts/typescriptClient.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { callApi } from '../support/http.js';
import { createTestUser } from '../support/users.js';

describe('the committed TypeScript client (clients/typescript)', () => {
  it('is what the served OpenAPI document generates (else: npm run client:generate)', async () => {
    const response = await callApi('/v1/openapi.json', { key: null });
    expect(response.status).toBe(200);
    const generated = await typescriptClientSchema(response.json as object);
    const committed = readFileSync(join(PROJECT_ROOT, CLIENT_SCHEMA_FILE), 'utf8');
    // A plain boolean first: a diff of 8,000 lines helps nobody; the message says what to do.
    expect(committed === generated, `${CLIENT_SCHEMA_FILE} is out of date: run \`npm run client:generate\``).toBe(true);
  });

  it('reads the caller\'s own data, typed, and answers an unknown session with the contract\'s 404', async () => {
    const user = await createTestUser();
    const client = createTracepipeClient({ baseUrl: inject('apiUrl'), apiKey: user.key });
    const me = await client.GET('/v1/users/me');
    expect(me.response.status).toBe(200);
    expect(me.data?.id).toBe(user.userId);
    const missing = await client.GET('/v1/sessions/{id}', { params: { path: { id: '00000000-0000-4000-8000-000000000999' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error.code).toBe('not_found');
  });
});

describe('retryingFetch', () => {
  let server: Server;
  let baseUrl: string;
  const answers: Array<{ status: number; headers?: Record<string, string> }> = [];
  const bodies: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        bodies.push(body);
        const answer = answers.shift() ?? { status: 200 };
        response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        response.end(JSON.stringify({ status: answer.status }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('waits out 429 for its Retry-After and 503 with backoff, sending the body whole each time', async () => {
    answers.length = 0;
    bodies.length = 0;
    answers.push({ status: 429, headers: { 'retry-after': '7' } }, { status: 503 }, { status: 200 });
    const waits: number[] = [];
    const fetchWithRetry = retryingFetch({ baseDelayMs: 10, sleep: async (ms) => void waits.push(ms) });
    const response = await fetchWithRetry(new Request(`${baseUrl}/x`, { method: 'POST', body: '{"a":1}' }));
    expect(response.status).toBe(200);
    expect(waits).toEqual([7000, 20]);
    expect(bodies).toEqual(['{"a":1}', '{"a":1}', '{"a":1}']);
  });

  it('gives up after its attempts with the last answer, and leaves other errors alone', async () => {
    answers.length = 0;
    answers.push({ status: 503 }, { status: 503 }, { status: 404 });
    const fetchWithRetry = retryingFetch({ attempts: 2, sleep: async () => undefined });
    expect((await fetchWithRetry(new Request(`${baseUrl}/y`))).status).toBe(503);
    expect((await fetchWithRetry(new Request(`${baseUrl}/y`))).status).toBe(404);
  });
});
