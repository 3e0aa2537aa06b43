import { sql, type Kysely } from 'kysely';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { Database } from '../db/schema.js';
import { SESSIONS_CONTAINER } from '../storage/layout.js';

export type CheckStatus = 'ok' | 'down';

export interface HealthReport {
  status: CheckStatus;
  checks: { database: CheckStatus; storage: CheckStatus };
}

/** A health check must answer quickly even when a dependency hangs rather than refuses. */
export const HEALTH_CHECK_TIMEOUT_MS = 3_000;

async function withinDeadline(check: (signal: AbortSignal) => Promise<unknown>): Promise<CheckStatus> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), HEALTH_CHECK_TIMEOUT_MS);
  try {
    const outcome = await Promise.race([
      check(controller.signal).then(() => 'ok' as const),
      new Promise<'down'>((resolve) => controller.signal.addEventListener('abort', () => resolve('down'))),
    ]);
    return outcome;
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(db: Kysely<Database>, blobs: BlobServiceClient): Promise<HealthReport> {
  const [database, storage] = await Promise.all([
    withinDeadline(() => sql`select 1`.execute(db)),
    // Container properties need only data-plane read rights, which the managed identity has; a missing
    // container means the storage is not what the app expects, so it counts as down.
    withinDeadline(async (abortSignal) => {
      if (!(await blobs.getContainerClient(SESSIONS_CONTAINER).exists({ abortSignal }))) {
        throw new Error(`container ${SESSIONS_CONTAINER} is missing`);
      }
    }),
  ]);
  return { status: database === 'ok' && storage === 'ok' ? 'ok' : 'down', checks: { database, storage } };
}
