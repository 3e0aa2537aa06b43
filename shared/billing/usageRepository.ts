import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { datasetBytesOf } from '../datasets/datasetStorage.js';

type Db = Kysely<Database>;

export interface UsageWindow {
  userId: string;
  /** null: every suite. */
  suiteIds: string[] | null;
  start: Date;
  end: Date;
}

export interface UsageScalars {
  sampledByteHours: number;
  lastSampleHour: Date | null;
  userCreatedAt: Date | null;
  sessionBytes: number;
  exampleBytes: number;
  sessionsUploaded: number;
  examplesGenerated: number;
}

function suiteFilter(column: string, suiteIds: string[] | null) {
  return suiteIds === null ? sql`true` : sql`${sql.ref(column)} = any(${suiteIds}::uuid[])`;
}

/**
 * Everything but tokens in one round trip. Each part reads an index and a bounded number of rows: at most ~744
 * hourly samples, the user's sessions through a covering index, and two counts that are index-only scans of the
 * partial indexes of migration 0005.
 */
export async function readUsageScalars(db: Db, window: UsageWindow): Promise<UsageScalars> {
  const { userId, start, end } = window;
  const { rows } = await sql<{
    sampled_byte_hours: number;
    last_sample_hour: Date | null;
    user_created_at: Date | null;
    session_bytes: number;
    example_bytes: number;
    sessions_uploaded: number;
    examples_generated: number;
  }>`
    select
      (select coalesce(sum(bytes), 0)::bigint from storage_samples
        where user_id = ${userId} and hour >= ${start} and hour < ${end}) as sampled_byte_hours,
      (select max(hour) from storage_samples where user_id = ${userId}) as last_sample_hour,
      (select created_at from users where id = ${userId}) as user_created_at,
      (select coalesce(sum(stored_bytes), 0)::bigint from sessions
        where user_id = ${userId} and stored_bytes > 0) as session_bytes,
      -- Example files and the datasets built from them.
      ((select coalesce(sum(bytes), 0)::bigint from example_storage_totals where user_id = ${userId})
        + ${datasetBytesOf(sql`${userId}::uuid`)}) as example_bytes,
      (select count(*) from sessions
        where user_id = ${userId} and status <> 'awaiting_upload' and created_at >= ${start} and created_at < ${end}
          and ${suiteFilter('suite_id', window.suiteIds)}) as sessions_uploaded,
      (select count(*) from examples
        where user_id = ${userId} and status = 'COMPLETED' and completed_at >= ${start} and completed_at < ${end}
          and ${suiteFilter('suite_id', window.suiteIds)}) as examples_generated`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('usage scalars: no row');
  return {
    sampledByteHours: row.sampled_byte_hours,
    lastSampleHour: row.last_sample_hour,
    userCreatedAt: row.user_created_at,
    sessionBytes: row.session_bytes,
    exampleBytes: row.example_bytes,
    sessionsUploaded: row.sessions_uploaded,
    examplesGenerated: row.examples_generated,
  };
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

export async function suiteExists(db: Db, suiteId: string): Promise<boolean> {
  const row = await db.selectFrom('suites').select('id').where('id', '=', suiteId).executeTakeFirst();
  return row !== undefined;
}
