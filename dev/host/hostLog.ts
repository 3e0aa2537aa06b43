import type { RpcLogCategory, RpcLogLevel } from './coreTypes.js';

/**
 * Log lines as Core Tools prints them: `[<ISO time>] [<function name>] <message>`, host lines as `[host]`.
 * Filtering follows host.json `logging.logLevel` (https://learn.microsoft.com/azure/azure-functions/functions-host-json#logging):
 * the most specific of `Function.<name>.User`, `Function.<name>`, `Function`, `default` applies to a function's
 * own logs; `Host` (else `default`) applies to the host's. Default level: Information, as in Azure.
 */

const levelRank: Record<RpcLogLevel, number> = {
  trace: 0,
  debug: 1,
  information: 2,
  warning: 3,
  error: 4,
  critical: 5,
  none: 6,
};

const hostJsonLevelNames: Record<string, RpcLogLevel> = {
  trace: 'trace',
  debug: 'debug',
  information: 'information',
  warning: 'warning',
  error: 'error',
  critical: 'critical',
  none: 'none',
};

export type LogLine = (line: string) => void;

/**
 * Lines to stdout, a batch per turn of the event loop. Azure's host writes the invocation lines in its own process;
 * this one runs in the worker's, where a synchronous write per line (stdout to a pipe or file is synchronous on
 * Linux) took about 6% of the event loop under load (two lines per request). Whatever is pending when the process
 * exits is written then.
 */
export function batchedStdout(): LogLine {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = `${pending.join('\n')}\n`;
    pending = [];
    process.stdout.write(text);
  };
  process.once('exit', flush);
  return (line) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(line);
  };
}

export class HostLogger {
  readonly #sink: LogLine;
  readonly #levels: Map<string, RpcLogLevel>;

  constructor(sink: LogLine, hostJsonLogLevels: Record<string, unknown> = {}) {
    this.#sink = sink;
    this.#levels = new Map();
    for (const [key, value] of Object.entries(hostJsonLogLevels)) {
      const level = typeof value === 'string' ? hostJsonLevelNames[value.toLowerCase()] : undefined;
      if (level) this.#levels.set(key.toLowerCase(), level);
    }
  }

  /** A line from the host itself (startup, pollers, admin API). */
  host(level: RpcLogLevel, message: string): void {
    const min = this.#levels.get('host') ?? this.#levels.get('default') ?? 'information';
    if (levelRank[level] < levelRank[min] || level === 'none') return;
    this.#write('host', message);
  }

  /**
   * A line about one function: its own `context.log` output (`user`), or the library's and host's lines about
   * its invocations (`system`). System lines below Information are worker chatter; Azure keeps them out of the
   * function's log stream too.
   */
  forFunction(functionName: string, level: RpcLogLevel, category: RpcLogCategory, message: string): void {
    if (level === 'none') return;
    const fn = `function.${functionName.toLowerCase()}`;
    const min =
      (category === 'user' ? this.#levels.get(`${fn}.user`) : undefined) ??
      this.#levels.get(fn) ??
      this.#levels.get('function') ??
      this.#levels.get('default') ??
      'information';
    const floor = category === 'system' ? Math.max(levelRank[min], levelRank.information) : levelRank[min];
    if (levelRank[level] < floor) return;
    this.#write(functionName, message);
  }

  /** A system line that is not tied to a function (e.g. the library's `workerSystemLog` during startup). */
  system(level: RpcLogLevel, message: string): void {
    if (levelRank[level] < levelRank.information) return;
    this.host(level, message);
  }

  #write(source: string, message: string): void {
    const time = new Date().toISOString();
    for (const line of message.split('\n')) {
      this.#sink(`[${time}] [${source}] ${line}`);
    }
  }
}
