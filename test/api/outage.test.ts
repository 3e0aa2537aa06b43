import { createServer } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawnLocalHost, type ApiProcess } from '../support/apiProcess.js';
import { callApi } from '../support/http.js';

/** A port on which nothing listens: bind, note, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const running: ApiProcess[] = [];

/** The app under the bare local host (no migrations at start), so it can come up while a dependency is down. */
async function startHostWith(env: Record<string, string>): Promise<ApiProcess> {
  const api = await spawnLocalHost({ API_KEY_HMAC_SECRET: inject('apiKeyHmacSecret'), TRACEPIPE_ENV: 'test', ...env });
  running.push(api);
  return api;
}

afterAll(async () => {
  await Promise.all(running.map((api) => api.stop()));
});

describe('when a dependency is down', () => {
  it('health names the database as down with 503, and authenticated calls get 503 not 500', async () => {
    const api = await startHostWith({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/none`,
      AZURE_STORAGE_CONNECTION_STRING: inject('storageConnectionString'),
      AzureWebJobsStorage: inject('storageConnectionString'),
    });
    const health = await callApi('/v1/health', { key: null, baseUrl: api.url });
    expect(health.status).toBe(503);
    expect(health.headers.get('retry-after')).toBe('5');
    expect(health.json).toEqual({
      error: {
        code: 'unavailable',
        message: 'A dependency is down; retry later.',
        details: { database: 'down', storage: 'ok' },
      },
    });
    const me = await callApi('/v1/users/me', { baseUrl: api.url });
    expect(me.status).toBe(503);
    expect((me.json as { error: { code: string } }).error.code).toBe('unavailable');
  });

  it('health names the storage as down with 503', async () => {
    const storage = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('k').toString('base64')};BlobEndpoint=http://127.0.0.1:${await closedPort()}/devstoreaccount1`;
    const api = await startHostWith({
      DATABASE_URL: inject('databaseUrl'),
      AZURE_STORAGE_CONNECTION_STRING: storage,
      AzureWebJobsStorage: inject('storageConnectionString'),
    });
    const health = await callApi('/v1/health', { key: null, baseUrl: api.url });
    expect(health.status).toBe(503);
    expect((health.json as { error: { details: unknown } }).error.details).toEqual({ database: 'ok', storage: 'down' });
  });
});
