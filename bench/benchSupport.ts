import { spawn, type ChildProcess } from 'node:child_process';
import { get, type Agent } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** CPU time in ms: in the process's own code and in the kernel on its behalf (system calls: sockets, files). */
interface CpuTime {
  user: number;
  system: number;
}

/**
 * From /proc/<pid>/stat (Linux; undefined elsewhere, or once the process has gone). Its fields 14 and 15 count clock
 * ticks of USER_HZ, which the kernel's ABI fixes at 100 a second; the command name before them, in parentheses, may
 * hold spaces, so they are counted from after it.
 */
function cpuOfStat(stat: string): CpuTime {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

function processCpu(pid: number | undefined): CpuTime | undefined {
  if (pid === undefined) return undefined;
  try {
    return cpuOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The CPU time of this machine's PostgreSQL processes (server, backends, autovacuum): what the database costs a
 * benchmark when it runs here, as the default BENCH_DATABASE_URL does. Undefined where there is no /proc or no
 * such process. A backend that exits takes its time with it: read it over a span whose connections stay open.
 */
function postgresCpu(): CpuTime | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let total: CpuTime | undefined;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const cpu = cpuOfStat(stat);
      total = { user: (total?.user ?? 0) + cpu.user, system: (total?.system ?? 0) + cpu.system };
    } catch {
      // gone while we looked
    }
  }
  return total;
}

/**
 * What each process spent of CPU over a span, per unit of work (a request, a MB): `<name>` in all and
 * `<name>_kernel` of it in the kernel, for the named child processes, this process (`client`: the load generator or
 * the reader) and, if asked, PostgreSQL. Steadier than throughput on a machine whose speed swings, and it says where
 * the time goes. A figure that cannot be read (no /proc, no local PostgreSQL) is null.
 */
export function startCpuMeter(
  pids: Record<string, number | undefined>,
  options: { postgres: boolean } = { postgres: true },
): { per(units: number): Record<string, number | null> } {
  const read = (): Record<string, CpuTime | undefined> => {
    const own = process.cpuUsage();
    const times: Record<string, CpuTime | undefined> = { client: { user: own.user / 1000, system: own.system / 1000 } };
    if (options.postgres) times.postgres = postgresCpu();
    for (const [name, pid] of Object.entries(pids)) times[name] = processCpu(pid);
    return times;
  };
  const before = read();
  return {
    per(units) {
      const figures: Record<string, number | null> = {};
      const round = (ms: number) => Number((ms / units).toFixed(3));
      for (const [name, after] of Object.entries(read())) {
        const start = before[name];
        figures[name] = after && start ? round(after.user + after.system - start.user - start.system) : null;
        figures[`${name}_kernel`] = after && start ? round(after.system - start.system) : null;
      }
      return figures;
    },
  };
}

/** The value below which p percent of the sorted samples fall. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export const projectRoot = resolve(fileURLToPath(import.meta.url), '../../..');

/** A database of the benchmark's own on BENCH_DATABASE_URL's server (default: the local PostgreSQL). */
export async function createBenchDatabase(
  adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tracepipe_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export interface BenchHost {
  url: string;
  child: ChildProcess;
  /** Resident set size of the host process now, in MiB (from /proc). */
  rssMiB(): number;
  stop(): Promise<void>;
}

/** The local Functions host serving `appDir`, as a child process, once it listens. */
export async function spawnBenchHost(appDir: string, env: Record<string, string>): Promise<BenchHost> {
  const child = spawn(process.execPath, [join(projectRoot, 'dist/dev/host/cli.js'), '--app', appDir, '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Host listening on (\S+)/.exec(output);
      if (!match?.[1]) return;
      // From here the host's log is only drained, not kept: matching each chunk against all the output so far
      // grew with every request, and the host blocks on a pipe its reader is slow to drain (stdout to a pipe is
      // synchronous on Linux), so the bench timed its own parsing (half the host's CPU profile was writev).
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.stdout?.resume();
      child.stderr?.resume();
      resolveUrl(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`host exited with ${code}:\n${output}`)));
  });
  return {
    url,
    child,
    rssMiB() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      return kib / 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
    },
  };
}

/**
 * GET `url` with node:http, the body read and dropped; answers the status. For load generators on the machine under
 * test: fetch (undici, web streams) spends about twice node:http's CPU per request, taken from the cores the host and
 * PostgreSQL share with it.
 */
export function getStatus(url: string, headers: Record<string, string>, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
      response.once('error', reject);
    }).once('error', reject);
  });
}

/** A positive number given as `name value` on the command line, or the fallback. */
export function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

/** This process's VmHWM where the kernel reports it (Linux), else the sampled peak. */
function peakRssBytes(sampledPeak: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1]) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return sampledPeak;
}

/** Samples this process's RSS every 10 ms; `stop` answers the highest. */
function startRssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** What a measured run cost: wall time, CPU time (user + system), peak resident memory. */
export interface RunCost {
  seconds: number;
  /** Unlike wall time, hardly moved by other load on the machine. */
  cpu_seconds: number;
  /** The kernel's high-water mark of this process's resident memory (VmHWM), else the sampled peak. */
  peak_rss_mb: number;
  /** The highest process.memoryUsage().rss sampled every 10 ms. */
  sampled_peak_rss_mb: number;
}

/** Runs `work` in this process and measures it (run it in a fresh child, so that the peak RSS is the work's). */
export async function measureRun<T>(work: () => Promise<T>): Promise<{ result: T; cost: RunCost }> {
  const sampler = startRssSampler();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const sampled = sampler.stop();
  const mb = 1024 * 1024;
  return {
    result,
    cost: { seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6, peak_rss_mb: peakRssBytes(sampled) / mb, sampled_peak_rss_mb: sampled / mb },
  };
}

/**
 * `node [nodeArgs] script --child ...args` in a fresh process; answers the JSON object the child printed last.
 */
export function runChildProcess<F>(script: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []): Promise<F> {
  return new Promise((resolveChild, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, '--child', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${args.join(' ')} child exited with ${code}:\n${output}`));
      resolveChild(JSON.parse(output.trim().split('\n').pop() as string) as F);
    });
  });
}
