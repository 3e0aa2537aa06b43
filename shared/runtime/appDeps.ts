import type { Kysely } from 'kysely';
import { stripeAccessOf, type StripeAccess } from '../billing/stripeAccess.js';
import { loadConfig, type Config } from '../config.js';
import { createDatabaseFromConfig } from '../db/index.js';
import type { Database } from '../db/schema.js';
import { storageAccessOf, type StorageAccess } from '../storage/storageAccess.js';

/** Where a function's lines go: its invocation's context (the Functions host's log), or a script's console. */
export interface Logger {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * Everything services work with, one set per process: the configuration, the database pool, the storage and
 * Stripe clients (made on first use, so that their SDKs load only where used), and the clock. Handed down from
 * where each function is registered (shared/http/defineRoute.ts gives it to every route as `deps`; timers and
 * triggers take it in functions/); no service reaches for a process-wide client of its own.
 */
export interface AppDeps {
  config: Config;
  db: Kysely<Database>;
  storage: StorageAccess;
  stripe: StripeAccess;
  /** Now: what "this month", "expired" and the times written are reckoned from. */
  clock(): Date;
}

/** One invocation's dependencies: the process's, and the invocation's logger. */
export interface InvocationDeps extends AppDeps {
  logger: Logger;
}

let current: AppDeps | undefined;

/**
 * The process's dependencies, built at the first call from process.env. functions/appLifecycle.ts makes that call
 * when the worker starts, so that a bad setting stops the start with its name rather than failing requests.
 */
export function appDeps(): AppDeps {
  if (!current) {
    const config = loadConfig(process.env);
    current = {
      config,
      db: createDatabaseFromConfig(config.database),
      storage: storageAccessOf(config.storage),
      stripe: stripeAccessOf(config),
      clock: () => new Date(),
    };
  }
  return current;
}

export function invocationDeps(logger: Logger): InvocationDeps {
  return { ...appDeps(), logger };
}

/** Lets in-flight queries finish and closes the pool (the worker is shutting down). */
export async function closeAppDeps(): Promise<void> {
  const closing = current;
  current = undefined;
  await closing?.db.destroy();
}
