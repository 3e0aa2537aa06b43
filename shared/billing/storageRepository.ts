import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { datasetBytesOf } from '../datasets/datasetStorage.js';
import { BYTES_PER_MB } from './pricing.js';

type Db = Kysely<Database>;

/** Owners of these examples (ids that are not examples are left out). */
export async function ownersOfExamples(db: Db, exampleIds: string[]): Promise<Array<{ id: string; user_id: string }>> {
  if (exampleIds.length === 0) return [];
  const { rows } = await sql<{ id: string; user_id: string }>`
    select id, user_id from examples where id = any(${exampleIds}::uuid[])`.execute(db);
  return rows;
}

/** Sets every user's example bytes to the listing's figure (0 for users with none), in one transaction. */
export async function replaceExampleStorageTotals(db: Db, totals: Map<string, number>, measuredAt: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (totals.size > 0) {
      await sql`
        insert into example_storage_totals (user_id, bytes, measured_at)
        select user_id, bytes, ${measuredAt} from unnest(${[...totals.keys()]}::uuid[], ${[...totals.values()]}::bigint[])
          as t(user_id, bytes)
        where exists (select 1 from users u where u.id = t.user_id)
        on conflict (user_id) do update set bytes = excluded.bytes, measured_at = excluded.measured_at`.execute(trx);
    }
    await trx
      .updateTable('example_storage_totals')
      .set({ bytes: 0, measured_at: measuredAt })
      .where('measured_at', '<>', measuredAt)
      .execute();
  });
}

/**
 * One storage sample per user for every whole hour from the one after the user's last sample (or the user's first
 * hour) up to `lastCompletedHour`, each with the bytes stored now: sessions (sizes the indexer measured) plus
 * examples (the last listing) plus datasets (sizes the builder measured). Hours already sampled are left alone
 * (unique (user_id, hour)), so a repeated run of the same hour changes nothing, and hours missed while the timer did not run are caught up, at most
 * `maxCatchUpHours` back (Stripe takes no meter event older than 35 days anyway). One statement for all users.
 * A sample worth less than half an MB-hour (storageMeterValue 0: nothing is stored) is written as settled, so
 * that the Stripe sync never has to touch it.
 */
export async function insertHourlySamples(
  db: Db,
  lastCompletedHour: Date,
  maxCatchUpHours: number,
): Promise<number> {
  const result = await sql`
    insert into storage_samples (user_id, hour, bytes, stripe_sent_at, stripe_resolution)
    select u.id, h.hour, u.bytes,
      case when u.bytes < ${BYTES_PER_MB / 2} then now() end,
      case when u.bytes < ${BYTES_PER_MB / 2} then 'nothing_to_send' end
    from (
      select users.id,
        date_trunc('hour', users.created_at, 'UTC') as first_hour,
        (select max(s.hour) from storage_samples s where s.user_id = users.id) as last_hour,
        coalesce((select sum(ss.stored_bytes) from sessions ss where ss.user_id = users.id and ss.stored_bytes > 0), 0)
          + coalesce((select t.bytes from example_storage_totals t where t.user_id = users.id), 0)
          + ${datasetBytesOf(sql.ref('users.id'))} as bytes
      from users
    ) u
    cross join lateral generate_series(
      greatest(
        coalesce(u.last_hour + interval '1 hour', u.first_hour),
        ${lastCompletedHour}::timestamptz - make_interval(hours => ${maxCatchUpHours})
      ),
      ${lastCompletedHour}::timestamptz,
      interval '1 hour'
    ) as h(hour)
    on conflict (user_id, hour) do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}
