import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export async function findBudget(db: Db, userId: string) {
  return db.selectFrom('budgets').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

export async function upsertBudget(
  db: Db,
  userId: string,
  budget: { monthly_limit: number | null; currency: string; hard_limit: boolean; alert_thresholds: number[] },
) {
  return db
    .insertInto('budgets')
    .values({ user_id: userId, ...budget })
    .onConflict((conflict) => conflict.column('user_id').doUpdateSet(budget))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Users whose budget has a limit, after `afterUserId` (for the threshold timer to page through). */
export async function usersWithLimits(db: Db, afterUserId: string | null, limit: number): Promise<string[]> {
  let query = db.selectFrom('budgets').select('user_id').where('monthly_limit', 'is not', null);
  if (afterUserId !== null) query = query.where('user_id', '>', afterUserId);
  const rows = await query.orderBy('user_id').limit(limit).execute();
  return rows.map((row) => row.user_id);
}

/** Records that a threshold was crossed in a period; false when it was recorded before (its event went out then). */
export async function claimThresholdEmission(trx: Transaction<Database>, userId: string, periodStart: Date, threshold: number): Promise<boolean> {
  const row = await trx
    .insertInto('budget_threshold_emissions')
    .values({ user_id: userId, period_start: periodStart, threshold })
    .onConflict((conflict) => conflict.columns(['user_id', 'period_start', 'threshold']).doNothing())
    .returning('threshold')
    .executeTakeFirst();
  return row !== undefined;
}

export async function linkThresholdEvent(trx: Transaction<Database>, userId: string, periodStart: Date, threshold: number, eventId: string) {
  await trx
    .updateTable('budget_threshold_emissions')
    .set({ event_id: eventId, emitted_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('period_start', '=', periodStart)
    .where('threshold', '=', threshold)
    .execute();
}
