import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function importEntryMs(): number {
  const output = execFileSync(process.execPath, [join(root, 'dist/bench/importEntry.js')], { encoding: 'utf8' });
  return (JSON.parse(output.trim().split('\n').pop() ?? '{}') as { import_ms: number }).import_ms;
}

/** Milliseconds from spawning `npm start` until GET /v1/health first answers 200. */
async function npmStartToHealthMs(dataDir: string): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), TRACEPIPE_DATA_DIR: dataDir };
  for (const name of ['DATABASE_URL', 'AZURE_STORAGE_CONNECTION_STRING', 'AzureWebJobsStorage', 'API_KEY_HMAC_SECRET']) {
    delete env[name];
  }
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env, stdio: 'ignore', detached: true });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      if (performance.now() - started > 180_000) throw new Error('npm start did not serve health within 3 minutes');
      try {
        const response = await fetch(`http://127.0.0.1:${port}/v1/health`);
        if (response.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((done) => setTimeout(done, 50));
    }
  } finally {
    // npm runs the app in a child of its own: signal the whole process group, as Ctrl-C in a terminal does.
    if (child.pid) process.kill(-child.pid, 'SIGINT');
    await new Promise((done) => child.once('exit', done));
  }
}

export async function runStartupBenchmark(): Promise<Record<string, unknown>> {
  const imports = Array.from({ length: 5 }, () => importEntryMs());
  console.log(`import of the functions entry: ${imports.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  const dataDir = mkdtempSync(join(tmpdir(), 'tracepipe-bench-'));
  try {
    const cold = await npmStartToHealthMs(dataDir);
    console.log(`npm start -> first 200 from /v1/health, fresh data folder: ${cold.toFixed(0)} ms`);
    const warm = await npmStartToHealthMs(dataDir);
    console.log(`npm start -> first 200 from /v1/health, same data folder again: ${warm.toFixed(0)} ms`);
    return {
      import_entry_ms_median: Math.round(median(imports)),
      npm_start_to_health_ms_fresh: Math.round(cold),
      npm_start_to_health_ms_again: Math.round(warm),
      note: 'npm start includes the TypeScript build (prestart)',
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
