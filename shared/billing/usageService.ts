import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import { canSeeSuite } from '../auth/suiteAccess.js';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { BYTES_PER_GB, storageCost, tokensCost } from './pricing.js';
import { readTokensByModel, readUsageScalars, suiteExists, type UsageScalars } from './usageRepository.js';
import type { UsageQueryInput, UsageResponse } from './usageSchemas.js';

const HOUR_MS = 3_600_000;

/** The calendar month (UTC) that contains `now`: [start, end). */
export function calendarMonthOf(now: Date): { start: Date; end: Date } {
  return {
    start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
    end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
  };
}

export function startOfHour(time: Date): Date {
  return new Date(Math.floor(time.getTime() / HOUR_MS) * HOUR_MS);
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/**
 * Byte-hours of the month not yet covered by hourly samples: what is stored now, from the end of the last sample
 * (or the user's first hour) until now. It is exactly what the storage sampler will record for those hours when it
 * next runs (it fills missed hours with the bytes it measures), so the figure does not jump when it does.
 */
export function unsampledByteHours(scalars: UsageScalars, monthStart: Date, now: Date): number {
  const coveredUntil = scalars.lastSampleHour
    ? scalars.lastSampleHour.getTime() + HOUR_MS
    : startOfHour(scalars.userCreatedAt ?? monthStart).getTime();
  const from = Math.max(coveredUntil, monthStart.getTime());
  const hours = Math.max(0, now.getTime() - from) / HOUR_MS;
  return (scalars.sessionBytes + scalars.exampleBytes) * hours;
}

/** GET /v1/usage: the current calendar month in UTC, from aggregates only. */
export async function getMonthlyUsage(
  db: Kysely<Database>,
  config: Config,
  auth: AuthContext,
  query: UsageQueryInput,
  now: Date = new Date(),
): Promise<UsageResponse> {
  let suiteIds = auth.suiteIds;
  if (query.suite_id !== undefined) {
    // A suite the key may not see reads as absent, like another user's data.
    if (!canSeeSuite(auth, query.suite_id) || !(await suiteExists(db, query.suite_id))) {
      throw ApiError.notFound('No such suite.');
    }
    suiteIds = [query.suite_id];
  }
  const month = calendarMonthOf(now);
  const window = { userId: auth.userId, suiteIds, start: month.start, end: month.end };
  const [scalars, byModelRows] = await Promise.all([readUsageScalars(db, window), readTokensByModel(db, window)]);

  const byModel: Record<string, number> = {};
  let totalTokens = 0;
  for (const row of byModelRows) {
    const key = `${row.provider}/${row.name}`.toLowerCase();
    byModel[key] = (byModel[key] ?? 0) + row.tokens;
    totalTokens += row.tokens;
  }
  const gbHours = (scalars.sampledByteHours + unsampledByteHours(scalars, month.start, now)) / BYTES_PER_GB;
  const tokensMinor = tokensCost(totalTokens, config.billing.tokenPricePerMillion);
  const storageMinor = storageCost(gbHours, config.billing.storagePricePerGbHour);
  return {
    billing_period: { start: month.start.toISOString(), end: month.end.toISOString() },
    tokens: { total: totalTokens, by_model: byModel },
    storage: {
      gb_hours: round6(gbHours),
      current_gb: round6((scalars.sessionBytes + scalars.exampleBytes) / BYTES_PER_GB),
    },
    sessions_uploaded: scalars.sessionsUploaded,
    examples_generated: scalars.examplesGenerated,
    estimated_cost: {
      tokens: tokensMinor,
      storage: storageMinor,
      total: tokensMinor + storageMinor,
      currency: config.billing.currency,
    },
  };
}
