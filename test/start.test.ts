import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runToExit, spawnApi } from './support/apiProcess.js';
import { callApi } from './support/http.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tracepipe-start-'));

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

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

  it('uses TRACEPIPE_DEV_API_KEY as the local key when it is set', async () => {
    const key = 'tp_live_sk_' + 'k'.repeat(43);
    const api = await spawnApi({ env: { TRACEPIPE_DATA_DIR: dataDir, TRACEPIPE_DEV_API_KEY: key }, timeoutMs: 120_000 });
    try {
      expect(printedKey(api.output())).toBe(key);
      expect((await callApi('/v1/users/me', { key, baseUrl: api.url })).status).toBe(200);
    } finally {
      expect(await api.stop()).toBe(0);
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
  ])('%s', async (setting, env) => {
    const folder = mkdtempSync(join(tmpdir(), 'tracepipe-badconfig-'));
    try {
      const { code, output } = await runToExit({ env: { TRACEPIPE_DATA_DIR: folder, ...env } });
      expect(code).toBe(1);
      expect(output).toContain('Invalid configuration');
      expect(output).toContain(`- ${setting} `);
      expect(childrenUsing(folder)).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
