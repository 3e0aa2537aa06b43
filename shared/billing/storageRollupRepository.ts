import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { Database, StorageSampleRollupsTable } from '../db/schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/*
 * storage_sample_rollups (migration 0010): the storage samples billed into a final invoice, summed, so that
 * storage_samples keeps only the hours whose billing is not settled. A sample is billed where its event's
 * timestamp falls (`coalesce(stripe_timestamp, hour)`: its own hour, or the period it was carried into), so that
 * is how a final invoice's samples are found. One row per calendar month of the hours and sync state: GET
 * /v1/usage reads a roll-up exactly as it read each of its samples (usageRepository.storageHours).
 */

/** Invoices Stripe has finalized (open, paid or void) into whose period settled samples are still billed. */
export async function findFinalInvoicesWithSamples(db: Db, limit: number) {
  const { rows } = await sql<{ invoice_id: string; user_id: string; period_start: Date; period_end: Date }>`
    select i.id as invoice_id, i.user_id, i.period_start, i.period_end
    from invoices i
    where i.status in ('open', 'paid', 'void')
      and exists (${settledSamplesOf(sql.ref('i.user_id'), sql.ref('i.period_start'), sql.ref('i.period_end'))})
    order by i.period_start, i.id
    limit ${limit}`.execute(db);
  return rows;
}

type Expression = ReturnType<typeof sql.ref> | Date | string;

/** The settled samples (sent, or failed for good) billed in [from, until): an SQL query of the sample's columns. */
function settledSamplesOf(userId: Expression, from: Expression, until: Expression) {
  return sql`
    select s.id, s.hour, s.bytes, s.stripe_timestamp, s.stripe_sent_at, s.stripe_failed_at, s.stripe_attempted_at,
      s.stripe_resolution
    from storage_samples s
    where s.user_id = ${userId} and (s.stripe_sent_at is not null or s.stripe_failed_at is not null)
      and coalesce(s.stripe_timestamp, s.hour) >= ${from} and coalesce(s.stripe_timestamp, s.hour) < ${until}`;
}

export interface SettledSample {
  id: string;
  hour: Date;
  bytes: number;
  stripe_timestamp: Date | null;
  stripe_sent_at: Date | null;
  stripe_failed_at: Date | null;
  stripe_attempted_at: Date | null;
  stripe_resolution: string | null;
}

/** The settled samples billed in an invoice's period, locked (the sync leaves settled rows alone in any case). */
export async function lockSettledSamples(trx: Transaction<Database>, userId: string, from: Date, until: Date): Promise<SettledSample[]> {
  const { rows } = await sql<SettledSample>`${settledSamplesOf(userId, from, until)} order by s.hour for update of s`.execute(trx);
  return rows.map((row) => ({ ...row, bytes: Number(row.bytes) }));
}

export async function insertRollups(trx: Transaction<Database>, rollups: Array<Insertable<StorageSampleRollupsTable>>): Promise<void> {
  if (rollups.length === 0) return;
  await trx.insertInto('storage_sample_rollups').values(rollups).execute();
}

export async function deleteSamples(trx: Transaction<Database>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await trx.deleteFrom('storage_samples').where('id', 'in', ids).execute();
}
