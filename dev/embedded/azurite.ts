import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Folder for Azurite's data; omitted means in memory (tests). */
  location?: string;
  /** 0 picks free ports. */
  blobPort?: number;
  queuePort?: number;
  /** In memory: the most its extents may hold (MiB); default 2048. */
  extentMemoryLimitMb?: number;
  /** Lines Azurite prints, for the caller's log. */
  onOutput?: (line: string) => void;
}

export interface RunningAzurite {
  connectionString: string;
  blobEndpoint: string;
  queueEndpoint: string;
  /** The emulator's process (benchmarks read its CPU time). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export function azuriteConnectionString(blobEndpoint: string, queueEndpoint: string): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT_NAME}`,
    `AccountKey=${AZURITE_ACCOUNT_KEY}`,
    `BlobEndpoint=${blobEndpoint}`,
    `QueueEndpoint=${queueEndpoint}`,
  ].join(';');
}

/**
 * Starts the Azurite npm package as a child process (blob and queue; its table service rides along on a free
 * port) and resolves once both services listen. The ports come from Azurite's own "listening at" lines, so port 0
 * works without a race.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('azurite/dist/src/azurite.js');
  const args = [
    entry,
    '--blobPort', String(options.blobPort ?? 0),
    '--queuePort', String(options.queuePort ?? 0),
    '--tablePort', '0',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--silent',
  ];
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence', '--extentMemoryLimit', String(options.extentMemoryLimitMb ?? 2048));
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });

  const endpoints = await new Promise<{ blob: string; queue: string }>((resolve, reject) => {
    let blob: string | undefined;
    let queue: string | undefined;
    let output = '';
    const onLine = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      for (const line of text.split('\n')) {
        if (line.trim()) options.onOutput?.(line);
        const match = /Azurite (Blob|Queue) service is successfully listening at (\S+)/.exec(line);
        if (match?.[1] === 'Blob') blob = match[2];
        if (match?.[1] === 'Queue') queue = match[2];
      }
      if (blob && queue) resolve({ blob, queue });
    };
    child.stdout?.on('data', onLine);
    child.stderr?.on('data', onLine);
    child.once('exit', (code) => reject(new Error(`Azurite exited (code ${code}) before it listened:\n${output}`)));
    child.once('error', reject);
  });

  const blobEndpoint = `${endpoints.blob}/${AZURITE_ACCOUNT_NAME}`;
  const queueEndpoint = `${endpoints.queue}/${AZURITE_ACCOUNT_NAME}`;
  return {
    connectionString: azuriteConnectionString(blobEndpoint, queueEndpoint),
    blobEndpoint,
    queueEndpoint,
    pid: child.pid,
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL if the child has not gone within the grace period. */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Azurite's default ports (https://learn.microsoft.com/azure/storage/common/storage-use-azurite#command-line-options). */
export const AZURITE_STANDARD_PORTS = { blob: 10000, queue: 10001 } as const;

const AZURITE_HOST = '127.0.0.1';

/** Whether nothing listens on the port of Azurite's address now (0 is always free: the system picks one). */
export function isPortFree(port: number, host = AZURITE_HOST): Promise<boolean> {
  if (port === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/**
 * Azurite on the ports asked for (for `npm start`, its standard ones) where they are free, else on free ones: a
 * second API on the same machine, or an Azurite already running, does not stop the start. A port taken between the
 * check and Azurite's start (another process racing for it) is retried once on free ports.
 */
export async function startAzuriteOnPreferredPorts(
  location: string,
  preferred: { blob: number; queue: number },
): Promise<RunningAzurite> {
  const blobPort = (await isPortFree(preferred.blob)) ? preferred.blob : 0;
  const queuePort = (await isPortFree(preferred.queue)) ? preferred.queue : 0;
  try {
    return await startAzurite({ location, blobPort, queuePort });
  } catch (error) {
    if (blobPort === 0 && queuePort === 0) throw error;
    return startAzurite({ location });
  }
}
