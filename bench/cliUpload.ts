/**
 * `npm run bench -- cli-upload [--size-mb 1024] [--rounds 2] [--block-size MiB] [--concurrency n]`: `tracepipe upload` of one file against the Azure
 * SDK's own `BlockBlobClient.uploadFile` of the same file to a session's upload URL, on the same API (`npm start`'s
 * embedded host and Azurite, in a folder of its own), the same block size and concurrency, rounds alternating
 * (SDK, CLI, SDK, CLI, ...) so that load on the machine falls on both. Each upload runs in a fresh process whose
 * resident memory is read from /proc every 20 ms (VmHWM, the kernel's high-water mark); MB/s is the file's size
 * over the process's wall time, start to exit, for both. The file is random bytes: the indexer refuses it after
 * its first MiB, so indexing does not load the next round. Targets: CLI peak RSS under 150 MB, CLI MB/s at least
 * 0.9 of the SDK's.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockBlobClient } from '@azure/storage-blob';
import { DEFAULT_BLOCK_SIZE_MIB, DEFAULT_CONCURRENCY } from '../cli/src/commands/upload.js';
import { GMAIL_SUITE_ID } from '../shared/seed/catalog.js';
import { argValue, median, projectRoot, round1 } from './benchSupport.js';

const MB = 1_000_000;
const MIB = 1024 * 1024;

interface ProcessRun {
  seconds: number;
  peakRssMb: number;
  output: string;
}

/** `node args` to its exit, with its wall time and its peak resident memory. */
function measuredProcess(args: string[], env: Record<string, string>): Promise<ProcessRun> {
  return new Promise((resolveRun, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let peakKib = 0;
    const sample = () => {
      try {
        const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (match?.[1]) peakKib = Math.max(peakKib, Number(match[1]));
      } catch {
        // gone already
      }
    };
    const timer = setInterval(sample, 20);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`));
      resolveRun({ seconds, peakRssMb: (peakKib * 1024) / MB, output });
    });
  });
}

/** The SDK's side, in its child: uploadFile to the URL given, as the README tells clients to. */
async function sdkChild(url: string, path: string, blockSize: number, concurrency: number): Promise<void> {
  await new BlockBlobClient(url).uploadFile(path, { blockSize, concurrency });
}

function writeRandomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < bytes; written += 4 * MIB) writeSync(fd, randomBytes(Math.min(4 * MIB, bytes - written)));
  } finally {
    closeSync(fd);
  }
}

async function startLocalApi(dataDir: string): Promise<{ url: string; key: string; stop(): Promise<void> }> {
  // npm start's embedded defaults (PGlite, Azurite) in a folder of the benchmark's own.
  const env: Record<string, string | undefined> = { ...process.env, PORT: '0', AZURITE_BLOB_PORT: '0', AZURITE_QUEUE_PORT: '0', TRACEPIPE_DATA_DIR: dataDir };
  for (const name of ['DATABASE_URL', 'AZURE_STORAGE_CONNECTION_STRING', 'AzureWebJobsStorage', 'AZURE_STORAGE_ACCOUNT_URL', 'TRACEPIPE_DEV_API_KEY']) delete env[name];
  const child = spawn(process.execPath, [join(projectRoot, 'dist/dev/start.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<{ url: string; key: string }>((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const url = /Tracepipe API listening on (\S+)/.exec(output)?.[1];
      const key = /API key:\s+(tp_live_sk_\S+)/.exec(output)?.[1];
      if (url && key) resolveReady({ url, key });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  const { url, key } = await ready;
  return {
    url,
    key,
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

export async function runCliUploadBenchmark(): Promise<Record<string, unknown>> {
  if (process.argv[3] === '--child') {
    const [url, path, blockSize, concurrency] = process.argv.slice(4) as [string, string, string, string];
    await sdkChild(url, path, Number(blockSize), Number(concurrency));
    return {};
  }
  const sizeMiB = argValue('--size-mb', 1024);
  const rounds = argValue('--rounds', 2);
  const workDir = mkdtempSync(join(tmpdir(), 'tracepipe-bench-cli-upload-'));
  const file = join(workDir, 'upload.bin');
  writeRandomFile(file, sizeMiB * MIB);
  const api = await startLocalApi(join(workDir, 'data'));
  const blockSizeMiB = argValue('--block-size', DEFAULT_BLOCK_SIZE_MIB);
  const concurrency = argValue('--concurrency', DEFAULT_CONCURRENCY);
  const blockSize = blockSizeMiB * MIB;
  const cli = join(projectRoot, 'dist/cli/bin/tracepipe.js');
  const cliEnv = {
    TRACEPIPE_BASE_URL: api.url,
    TRACEPIPE_API_KEY: api.key,
    TRACEPIPE_STATE_DIR: join(workDir, 'state'),
    TRACEPIPE_CONFIG: join(workDir, 'config.json'),
  };
  const sdk: ProcessRun[] = [];
  const tool: ProcessRun[] = [];
  try {
    for (let round = 1; round <= rounds; round += 1) {
      const created = await fetch(`${api.url}/v1/sessions`, {
        method: 'POST',
        headers: { 'X-API-Key': api.key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ suite_id: GMAIL_SUITE_ID, file_name: 'upload.bin' }),
      });
      const session = (await created.json()) as { upload: { url: string } };
      const script = join(projectRoot, 'dist/bench/run.js');
      sdk.push(await measuredProcess([script, 'cli-upload', '--child', session.upload.url, file, String(blockSize), String(concurrency)], {}));
      console.error(`round ${round}: SDK uploadFile ${round1((sizeMiB * MIB) / MB / (sdk.at(-1) as ProcessRun).seconds)} MB/s`);
      tool.push(
        await measuredProcess(
          [cli, 'upload', file, '--suite', 'Gmail', '--json', '--block-size', String(blockSizeMiB), '--concurrency', String(concurrency)],
          cliEnv,
        ),
      );
      const run = tool.at(-1) as ProcessRun;
      console.error(`round ${round}: tracepipe upload ${round1((sizeMiB * MIB) / MB / run.seconds)} MB/s, peak RSS ${round1(run.peakRssMb)} MB`);
    }
  } finally {
    await api.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  const mbPerSecond = (run: ProcessRun) => (sizeMiB * MIB) / MB / run.seconds;
  const ratios = tool.map((run, index) => mbPerSecond(run) / mbPerSecond(sdk[index] as ProcessRun));
  return {
    size_mib: sizeMiB,
    rounds,
    block_size_mib: blockSizeMiB,
    concurrency,
    cli_mb_per_s: round1(median(tool.map(mbPerSecond))),
    sdk_upload_file_mb_per_s: round1(median(sdk.map(mbPerSecond))),
    ratio: Math.round(median(ratios) * 100) / 100,
    ratios: ratios.map((ratio) => Math.round(ratio * 100) / 100),
    cli_peak_rss_mb: round1(Math.max(...tool.map((run) => run.peakRssMb))),
    sdk_peak_rss_mb: round1(Math.max(...sdk.map((run) => run.peakRssMb))),
    targets: { cli_peak_rss_mb_below: 150, ratio_at_least: 0.9 },
  };
}
