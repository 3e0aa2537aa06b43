import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';
import yauzl from 'yauzl';
import { baseEnv, PROJECT_ROOT } from './apiProcess.js';

/** The built CLI, as `npx tracepipe` runs it (globalSetup builds tsconfig.build.json, which includes cli/). */
export const CLI = join(PROJECT_ROOT, 'dist/cli/bin/tracepipe.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A home of its own for each test: config file and resume records in a fresh folder. */
export function cliHome(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'tracepipe-cli-'));
  return {
    dir,
    env: { TRACEPIPE_STATE_DIR: join(dir, 'state'), TRACEPIPE_CONFIG: join(dir, 'config.json'), HOME: dir },
  };
}

export interface StartedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliRun>;
}

export function startCli(args: string[], env: Record<string, string | undefined>): StartedCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...baseEnv(), TRACEPIPE_API_KEY: undefined, TRACEPIPE_BASE_URL: inject('apiUrl'), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const done = new Promise<CliRun>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export function runCli(args: string[], env: Record<string, string | undefined>, input?: string): Promise<CliRun> {
  const started = startCli(args, env);
  started.child.stdin?.end(input ?? '');
  return started.done;
}

/** Unpacks a zip (a recorder bundle) into a folder, as the recorder leaves it on disk. */
export async function unzipTo(zipPath: string, folder: string): Promise<void> {
  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true });
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('/')) return zip.readEntry();
      zip
        .openReadStreamPromise(entry)
        .then(async (stream) => {
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          const target = join(folder, entry.fileName);
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, Buffer.concat(chunks));
          zip.readEntry();
        })
        .catch(reject);
    });
    zip.once('end', () => resolve());
    zip.once('error', reject);
    zip.readEntry();
  });
  zip.close();
}

/** The CLI's resume records in a test home (one per upload in progress). */
export function resumeRecords(home: string): Array<{ path: string; record: Record<string, unknown> & { upload_url: string; expires_at: string; blocks: Record<string, string> } }> {
  const folder = join(home, 'state', 'uploads');
  let names: string[];
  try {
    names = readdirSync(folder).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((name) => ({ path: join(folder, name), record: JSON.parse(readFileSync(join(folder, name), 'utf8')) }));
}
