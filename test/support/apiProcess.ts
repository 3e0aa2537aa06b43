import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { stopChild } from '../../dev/embedded/azurite.js';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM (SIGKILL after 15 s) and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** The same, with the signal that ended it (SIGKILL means it did not stop by itself). */
  terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Script under the project root, e.g. dist/dev/start.js. */
  script?: string;
  args?: string[];
  env: Record<string, string | undefined>;
  /** The line that says it is ready; its first group is the base URL. */
  readyPattern?: RegExp;
  timeoutMs?: number;
}

/** The environment the tests pass down: this process's, minus the app settings a test might not mean to give. */
export function baseEnv(): Record<string, string | undefined> {
  const env = { ...process.env };
  for (const name of [
    'DATABASE_URL',
    'AZURE_STORAGE_CONNECTION_STRING',
    'AzureWebJobsStorage',
    'AZURE_STORAGE_ACCOUNT_URL',
    'API_KEY_HMAC_SECRET',
    'TRACEPIPE_DEV_API_KEY',
    'TRACEPIPE_DATA_DIR',
    'STRIPE_SECRET_KEY',
    'PORT',
    'NODE_OPTIONS',
    'VITEST',
    'VITEST_POOL_ID',
    'VITEST_WORKER_ID',
  ]) {
    delete env[name];
  }
  return env;
}

/**
 * Tests share the machine with other suites: the API and an embedded Azurite listen on free ports, never on the
 * standard ones `npm start` prefers (a test that means a port says so in its env).
 */
const RANDOM_PORTS = { PORT: '0', AZURITE_BLOB_PORT: '0', AZURITE_QUEUE_PORT: '0' };

/** Starts the API (by default `node dist/dev/start.js`) as a client would find it, and waits until it listens. */
export function spawnApi(options: SpawnOptions): Promise<ApiProcess> {
  const script = options.script ?? 'dist/dev/start.js';
  const readyPattern = options.readyPattern ?? /Tracepipe API listening on (\S+)/;
  const child = spawn(process.execPath, [resolve(PROJECT_ROOT, script), ...(options.args ?? [])], {
    cwd: PROJECT_ROOT,
    env: { ...baseEnv(), ...RANDOM_PORTS, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const terminate = async () => {
    await stopChild(child, 15_000);
    return exited;
  };
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not get ready in time:\n${output}`));
    }, options.timeoutMs ?? 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = readyPattern.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveReady({
          url: match[1],
          child,
          output: () => output,
          stop: async () => (await terminate()).code,
          terminate,
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code} before it was ready:\n${output}`));
    });
  });
}

/**
 * The bare local host (dist/dev/host/cli.js: no migrations or embedded services at start) serving `appDir` on a
 * free port, with `env`; resolves once it listens.
 */
export function spawnLocalHost(
  env: Record<string, string | undefined>,
  options: { appDir?: string; args?: string[]; timeoutMs?: number } = {},
): Promise<ApiProcess> {
  return spawnApi({
    script: 'dist/dev/host/cli.js',
    args: ['--app', options.appDir ?? '.', '--port', '0', ...(options.args ?? [])],
    readyPattern: /Host listening on (\S+)/,
    env,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}

/** Runs a script to its end (for starts that must fail) and returns its exit code and output. */
export function runToExit(options: SpawnOptions): Promise<{ code: number | null; output: string }> {
  const script = options.script ?? 'dist/dev/start.js';
  const child = spawn(process.execPath, [resolve(PROJECT_ROOT, script), ...(options.args ?? [])], {
    cwd: PROJECT_ROOT,
    env: { ...baseEnv(), ...RANDOM_PORTS, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit({ code, output });
    });
  });
}
