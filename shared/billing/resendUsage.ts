import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { UsageKind } from './meterEvents.js';

/**
 * Usage the sync gave up on, handed back to it after a fix (an archived meter re-activated, a customer repaired):
 * `npm run billing:resend`. The rows become unsent again, and the next sync run sends them, in their own period
 * if it is still open, else carried into the open one (billingPeriods.ts). A row Stripe refused asynchronously
 * already carries a fresh identifier (meterErrorReports.ts).
 *
 * Rows recorded as `reconcile_ambiguous` are not resent unless named: Stripe may have them, and a resend could
 * bill them twice; settle those by hand first.
 */
export const RESENDABLE_RESOLUTIONS = ['rejected', 'async_rejected', 'retrying', 'async_rejected_retrying', 'stranded', 'expired'] as const;

export interface ResendFilter {
  kinds: UsageKind[];
  resolutions: string[];
  userId?: string;
  dryRun?: boolean;
}

const TABLE: Record<UsageKind, 'token_usage' | 'storage_samples'> = { tokens: 'token_usage', storage: 'storage_samples' };

export async function resendUsage(db: Kysely<Database>, filter: ResendFilter): Promise<Record<UsageKind, number>> {
  const counts: Record<UsageKind, number> = { tokens: 0, storage: 0 };
  for (const kind of filter.kinds) {
    const table = sql.table(TABLE[kind]);
    const where = sql`stripe_sent_at is null and stripe_resolution = any(${filter.resolutions}::text[])
      ${filter.userId ? sql`and user_id = ${filter.userId}` : sql``}`;
    if (filter.dryRun) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${table} where ${where}`.execute(db);
      counts[kind] = rows[0]?.n ?? 0;
      continue;
    }
    const result = await sql`
      update ${table} set stripe_failed_at = null, stripe_retry_at = null, stripe_attempted_at = null,
        stripe_resolution = 'resend_requested'
      where ${where}`.execute(db);
    counts[kind] = Number(result.numAffectedRows ?? 0n);
  }
  return counts;
}
