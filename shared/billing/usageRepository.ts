import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

export interface UsageWindow {
  userId: string;
  /** null: every suite. */
  suiteIds: string[] | null;
  start: Date;
  end: Date;
}

function suiteFilter(column: string, suiteIds: string[] | null) {
  return suiteIds === null ? sql`true` : sql`${sql.ref(column)} = any(${suiteIds}::uuid[])`;
}

const DAY_MS = 86_400_000;

/** Sessions uploaded and examples completed in the window: index-only scans of the partial indexes of 0005. */
export async function readActivityCounts(db: Db, window: UsageWindow): Promise<{ sessionsUploaded: number; examplesGenerated: number }> {
  const { userId, start, end } = window;
  const { rows } = await sql<{ sessions_uploaded: number; examples_generated: number }>`
    select
      (select count(*) from sessions
        where user_id = ${userId} and status <> 'awaiting_upload' and created_at >= ${start} and created_at < ${end}
          and ${suiteFilter('suite_id', window.suiteIds)}) as sessions_uploaded,
      (select count(*) from examples
        where user_id = ${userId} and status = 'COMPLETED' and completed_at >= ${start} and completed_at < ${end}
          and ${suiteFilter('suite_id', window.suiteIds)}) as examples_generated`.execute(db);
  const row = rows[0];
  return { sessionsUploaded: Number(row?.sessions_uploaded ?? 0), examplesGenerated: Number(row?.examples_generated ?? 0) };
}

/** Tokens by model from the daily rollup: at most ~31 rows per suite and model, never the usage rows themselves. */
export async function readTokensByModel(
  db: Db,
  window: UsageWindow,
): Promise<Array<{ provider: string; name: string; tokens: number }>> {
  const startDay = window.start.toISOString().slice(0, 10);
  const endDay = window.end.toISOString().slice(0, 10);
  const { rows } = await sql<{ provider: string; name: string; tokens: number }>`
    select m.provider, m.name, sum(d.input_tokens + d.output_tokens)::bigint as tokens
    from token_usage_daily d
    join models m on m.id = d.model_id
    where d.user_id = ${window.userId} and d.day >= ${startDay}::date and d.day < ${endDay}::date
      and ${suiteFilter('d.suite_id', window.suiteIds)}
    group by m.provider, m.name
    order by m.provider, m.name`.execute(db);
  return rows;
}

/**
 * Tokens used in [from, to) (any instants): whole days from the rollup, the partial days at either end from the
 * usage rows (one user, at most a day each, through token_usage_user_recorded_at_idx).
 */
export async function readTokensBetween(db: Db, window: Omit<UsageWindow, 'start' | 'end'>, from: Date, to: Date): Promise<number> {
  if (from >= to) return 0;
  const firstWholeDay = new Date(Math.ceil(from.getTime() / DAY_MS) * DAY_MS);
  const endWholeDay = new Date(Math.floor(to.getTime() / DAY_MS) * DAY_MS);
  const direct = (a: Date, b: Date) => sql`
    select coalesce(sum(input_tokens + output_tokens), 0)::bigint as tokens from token_usage
    where user_id = ${window.userId} and recorded_at >= ${a} and recorded_at < ${b} and ${suiteFilter('suite_id', window.suiteIds)}`;
  if (firstWholeDay >= endWholeDay) {
    const { rows } = await sql<{ tokens: number }>`${direct(from, to)}`.execute(db);
    return Number(rows[0]?.tokens ?? 0);
  }
  const { rows } = await sql<{ tokens: number }>`
    select
      (select coalesce(sum(input_tokens + output_tokens), 0)::bigint from token_usage_daily
        where user_id = ${window.userId} and day >= ${firstWholeDay.toISOString().slice(0, 10)}::date
          and day < ${endWholeDay.toISOString().slice(0, 10)}::date and ${suiteFilter('suite_id', window.suiteIds)})
      + (${direct(from, firstWholeDay)}) + (${direct(endWholeDay, to)}) as tokens`.execute(db);
  return Number(rows[0]?.tokens ?? 0);
}

export interface UsageRowState {
  /** When the usage happened. */
  occurredAt: Date;
  /** Tokens, or bytes (storage). */
  amount: number;
  /** The timestamp it was (or is to be) sent with, when not its own (carried). */
  carriedTo: Date | null;
  sent: boolean;
  failed: boolean;
  attempted: boolean;
  resolution: string | null;
}

/** Where the sync stands with a row, the same columns in both tables. */
interface SyncState {
  stripe_timestamp: Date | null;
  sent: boolean;
  failed: boolean;
  attempted: boolean;
  stripe_resolution: string | null;
}

const SYNC_STATE = sql`t.stripe_timestamp, t.stripe_sent_at is not null as sent, t.stripe_failed_at is not null as failed,
  t.stripe_attempted_at is not null as attempted, t.stripe_resolution`;

function rowState(row: SyncState, occurredAt: Date, amount: number): UsageRowState {
  return {
    occurredAt,
    amount,
    carriedTo: row.stripe_timestamp,
    sent: row.sent,
    failed: row.failed,
    attempted: row.attempted,
    resolution: row.stripe_resolution,
  };
}

/**
 * The token rows whose billing is not simply "in the period of their time": carried into another period, failed,
 * or not sent yet (their period is decided when they are). For the current month (`pendingOfEarlierMonths`),
 * unsent rows of earlier months too, since they are carried into it. Few rows, each through a partial index.
 */
export async function readTokenExceptions(db: Db, window: UsageWindow, pendingOfEarlierMonths: boolean): Promise<UsageRowState[]> {
  const { userId, start, end } = window;
  const suites = suiteFilter('suite_id', window.suiteIds);
  const { rows } = await sql<SyncState & { recorded_at: Date; tokens: number }>`
    with rows as (
      select id from token_usage
        where user_id = ${userId} and stripe_timestamp is not null and ${suites}
          and ((stripe_timestamp >= ${start} and stripe_timestamp < ${end}) or (recorded_at >= ${start} and recorded_at < ${end}))
      union
      select id from token_usage
        where user_id = ${userId} and stripe_failed_at is not null and recorded_at >= ${start} and recorded_at < ${end} and ${suites}
      union
      select id from token_usage
        where user_id = ${userId} and stripe_sent_at is null and stripe_failed_at is null and recorded_at < ${end}
          and ${pendingOfEarlierMonths ? sql`true` : sql`recorded_at >= ${start}`} and ${suites}
    )
    select t.recorded_at, (t.input_tokens + t.output_tokens)::bigint as tokens, ${SYNC_STATE}
    from rows join token_usage t using (id)`.execute(db);
  return rows.map((row) => rowState(row, row.recorded_at, Number(row.tokens)));
}

/**
 * Storage samples that bear on the window: those of its hours, those carried into it, and (current month)
 * unsent ones of earlier hours, which will be. At most ~744 a month per user, through (user_id, hour).
 */
export async function readStorageSamples(db: Db, userId: string, window: { start: Date; end: Date }, pendingOfEarlierMonths: boolean): Promise<UsageRowState[]> {
  const { start, end } = window;
  const { rows } = await sql<SyncState & { hour: Date; bytes: number }>`
    with rows as (
      select id from storage_samples where user_id = ${userId} and hour >= ${start} and hour < ${end}
      union
      select id from storage_samples where user_id = ${userId} and stripe_timestamp >= ${start} and stripe_timestamp < ${end}
      union
      select id from storage_samples
        where user_id = ${userId} and ${pendingOfEarlierMonths} and hour < ${start}
          and stripe_sent_at is null and stripe_failed_at is null
    )
    select t.hour, t.bytes, ${SYNC_STATE}
    from rows join storage_samples t using (id)`.execute(db);
  return rows.map((row) => rowState(row, row.hour, Number(row.bytes)));
}

export async function suiteExists(db: Db, suiteId: string): Promise<boolean> {
  const row = await db.selectFrom('suites').select('id').where('id', '=', suiteId).executeTakeFirst();
  return row !== undefined;
}
