import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, describe, expect, it } from 'vitest';
import { API_KEY_FORM } from '../../shared/auth/apiKeySecret.js';
import { runToExit, spawnApi } from '../support/apiProcess.js';
import { callApi } from '../support/http.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tracepipe-start-'));

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** The storage connection string `npm start` prints for embedded Azurite. */
function printedConnectionString(output: string): string {
  const match = /AZURE_STORAGE_CONNECTION_STRING="([^"]+)"/.exec(output);
  if (!match?.[1]) throw new Error(`no storage connection string printed:\n${output}`);
  return match[1];
}

function listening(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function freePort(): Promise<number> {
  const server = await listening();
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function printedKey(output: string): string {
  const match = /API key:\s+(\S+)/.exec(output);
  if (!match?.[1]) throw new Error(`no API key printed:\n${output}`);
  return match[1];
}

/** Processes whose command line mentions the data folder: Azurite, if the start left it behind. */
function childrenUsing(folder: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', folder], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('npm start on embedded defaults', () => {
  it('serves health and the printed key on PGlite and Azurite, stops cleanly, and keeps its data', async () => {
    const first = await spawnApi({ env: { TRACEPIPE_DATA_DIR: dataDir }, timeoutMs: 120_000 });
    const output = first.output();
    expect(output).toContain(`embedded PGlite in ${join(dataDir, 'pglite')}`);
    expect(output).toContain(`embedded Azurite in ${join(dataDir, 'azurite')}`);
    expect(output).toMatch(/Migrations applied: 0001/);
    expect(output).toContain(`Docs:     ${first.url}/v1/docs`);
    const key = printedKey(output);
    // Where the pipelines service finds the job queue: the printed connection string reaches it.
    const queue = QueueServiceClient.fromConnectionString(printedConnectionString(output)).getQueueClient('example-jobs');
    expect(await queue.exists()).toBe(true);

    expect((await callApi('/v1/health', { key: null, baseUrl: first.url })).status).toBe(200);
    const me = await callApi('/v1/users/me', { key, baseUrl: first.url });
    expect(me.status).toBe(200);
    expect((me.json as { display_name: string }).display_name).toBe('Local Developer');

    expect(childrenUsing(dataDir).length).toBeGreaterThan(0);
    expect(await first.stop()).toBe(0);
    expect(childrenUsing(dataDir)).toEqual([]);

    const second = await spawnApi({ env: { TRACEPIPE_DATA_DIR: dataDir }, timeoutMs: 120_000 });
    try {
      expect(second.output()).toContain('Migrations: up to date');
      expect(printedKey(second.output())).toBe(key);
      expect((await callApi('/v1/users/me', { key, baseUrl: second.url })).status).toBe(200);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 240_000);

  it('uses TRACEPIPE_DEV_API_KEY as the local key, and the Azurite ports asked for where they are free', async () => {
    const key = 'tp_live_sk_' + 'k'.repeat(43);
    // Tests never take Azurite's standard ports (other suites run beside them): the same choice, on ports of ours.
    const busy = await listening();
    const busyPort = (busy.address() as { port: number }).port;
    const queuePort = await freePort();
    const api = await spawnApi({
      env: {
        TRACEPIPE_DATA_DIR: dataDir,
        TRACEPIPE_DEV_API_KEY: key,
        AZURITE_BLOB_PORT: String(busyPort),
        AZURITE_QUEUE_PORT: String(queuePort),
      },
      timeoutMs: 120_000,
    });
    try {
      expect(printedKey(api.output())).toBe(key);
      expect((await callApi('/v1/users/me', { key, baseUrl: api.url })).status).toBe(200);
      const connection = printedConnectionString(api.output());
      expect(connection).toContain(`QueueEndpoint=http://127.0.0.1:${queuePort}/devstoreaccount1`);
      expect(connection).not.toContain(`:${busyPort}/`);
      expect(await QueueServiceClient.fromConnectionString(connection).getQueueClient('example-jobs').exists()).toBe(true);
    } finally {
      expect(await api.stop()).toBe(0);
      await new Promise((resolve) => busy.close(resolve));
    }
  }, 180_000);
});

describe('bad configuration stops the start with the setting named', () => {
  it.each([
    ['DATABASE_URL', { DATABASE_URL: 'mysql://root@localhost/db' }],
    ['API_KEY_HMAC_SECRET', { API_KEY_HMAC_SECRET: 'too-short' }],
    ['PORT', { PORT: 'seventy' }],
    ['TRACEPIPE_ENV', { TRACEPIPE_ENV: 'staging' }],
    ['AZURE_STORAGE_ACCOUNT_URL', { AZURE_STORAGE_ACCOUNT_URL: 'not a url' }],
    // Any 20 characters used to pass here, and then every request was 401: the form authentication accepts.
    ['TRACEPIPE_DEV_API_KEY', { TRACEPIPE_DEV_API_KEY: 'x'.repeat(24) }],
    ['TRACEPIPE_DEV_API_KEY', { TRACEPIPE_DEV_API_KEY: 'tp_live_sk_short' }],
    ['AZURITE_BLOB_PORT', { AZURITE_BLOB_PORT: 'ten thousand' }],
  ])('%s', async (setting, env) => {
    const folder = mkdtempSync(join(tmpdir(), 'tracepipe-badconfig-'));
    try {
      const { code, output } = await runToExit({ env: { TRACEPIPE_DATA_DIR: folder, ...env } });
      expect(code).toBe(1);
      expect(output).toContain('Invalid configuration');
      expect(output).toContain(`- ${setting} `);
      if (setting === 'TRACEPIPE_DEV_API_KEY') expect(output).toContain(API_KEY_FORM);
      expect(childrenUsing(folder)).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
