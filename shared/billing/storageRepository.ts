import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { storageMeterValueSql } from './pricing.js';

type Db = Kysely<Database> | Transaction<Database>;

/*
 * The storage ledger (stored_objects, migration 0009): what was stored, from when until when. Storage is
 * sampled, back-filled and estimated from it, so an hour is billed for what existed in that hour:
 * - a session's files (canonical trace, original, screenshots), from the indexer's result (a trigger on
 *   sessions.stored_bytes) until they are stored anew, cleared or the row deleted, or until the sampler finds the
 *   trace gone (retention, the lifecycle rule);
 * - an example's files, from their blobs' creation time until the sampler finds them changed or gone;
 * - a dataset's files, from the moment it is ready (a trigger on datasets) until the row is deleted.
 * Another kind of stored object joins by writing intervals here (openStoredObject / closeStoredObject).
 */

/** Byte-hours of `o` in the hour `h` (an SQL fragment): its bytes times the part of the hour it was stored. */
const BYTE_HOURS = sql`o.bytes * extract(epoch from (
    least(coalesce(o.stored_until, 'infinity'::timestamptz), h.hour + interval '1 hour', h.until) - greatest(o.stored_from, h.hour)
  )) / 3600`;

/** Owners of these examples (ids that are not examples are left out). */
export async function ownersOfExamples(db: Db, exampleIds: string[]): Promise<Array<{ id: string; user_id: string }>> {
  if (exampleIds.length === 0) return [];
  const { rows } = await sql<{ id: string; user_id: string }>`
    select id, user_id from examples where id = any(${exampleIds}::uuid[])`.execute(db);
  return rows;
}

/** Starts an object's interval (nothing if one is open already). */
export async function openStoredObject(
  db: Db,
  object: { userId: string; kind: string; objectId: string; bytes: number; from: Date },
): Promise<void> {
  await sql`
    insert into stored_objects (user_id, kind, object_id, bytes, stored_from)
    values (${object.userId}, ${object.kind}, ${object.objectId}, ${object.bytes}, ${object.from})
    on conflict (kind, object_id) where stored_until is null do nothing`.execute(db);
}

/** Ends the open intervals of these objects at `at` (deletion: their bytes stop counting at once). */
export async function closeStoredObjects(db: Db, kind: string, objectIds: string[], at: Date | 'now'): Promise<void> {
  if (objectIds.length === 0) return;
  const when = at === 'now' ? sql`now()` : sql`${at}::timestamptz`;
  await sql`
    update stored_objects set stored_until = greatest(stored_from, ${when})
    where kind = ${kind} and object_id = any(${objectIds}::uuid[]) and stored_until is null`.execute(db);
}

/** Ends an object's open interval at `at` (never before it began). */
export function closeStoredObject(db: Db, kind: string, objectId: string, at: Date): Promise<void> {
  return closeStoredObjects(db, kind, [objectId], at);
}

export interface ListedExample {
  userId: string;
  bytes: number;
  /** The earliest creation among its blobs: when it was first stored. */
  createdOn: Date;
  /** The latest write among its blobs: when it last changed. */
  lastModified: Date;
}

async function previousListing(db: Db, container: string): Promise<Date | null> {
  const row = await db.selectFrom('storage_listings').select('listed_at').where('container', '=', container).executeTakeFirst();
  return row?.listed_at ?? null;
}

async function recordListing(db: Db, container: string, listedAt: Date): Promise<void> {
  await db
    .insertInto('storage_listings')
    .values({ container, listed_at: listedAt })
    .onConflict((conflict) => conflict.column('container').doUpdateSet({ listed_at: listedAt }))
    .execute();
}

/**
 * Closes the open intervals of `kind` whose object the listing (begun at `listedAt`) did not find, at the last
 * time it was seen: the previous complete listing, never later (a deleted trace is not billed past it). Objects
 * stored after the listing began may not be in it and are left alone.
 */
async function closeUnlisted(db: Db, kind: string, present: string[], listedAt: Date, lastSeen: Date | null): Promise<number> {
  // An anti-join on the listing (hashed), not `<> all(array)`, which compares every row with every element.
  const result = await sql`
    update stored_objects o set stored_until = greatest(o.stored_from, coalesce(${lastSeen}::timestamptz, o.stored_from))
    where o.kind = ${kind} and o.stored_until is null and o.stored_from < ${listedAt}
      and not exists (select 1 from unnest(${present}::uuid[]) as p(id) where p.id = o.object_id)`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** Brings example intervals in line with a complete listing of the examples container. */
export async function reconcileExampleObjects(db: Kysely<Database>, listed: Map<string, ListedExample>, listedAt: Date) {
  return db.transaction().execute(async (trx) => {
    const lastSeen = await previousListing(trx, 'examples');
    const ids = [...listed.keys()];
    const open = new Map(
      (ids.length === 0
        ? []
        : await trx
            .selectFrom('stored_objects')
            .select(['object_id', 'bytes'])
            .where('kind', '=', 'example')
            .where('stored_until', 'is', null)
            .where('object_id', 'in', ids)
            .execute()
      ).map((row) => [row.object_id, row.bytes]),
    );
    for (const [exampleId, example] of listed) {
      const stored = open.get(exampleId);
      if (stored === example.bytes) continue;
      // Rewritten since it was stored: the old size until the rewrite, the new one from then.
      if (stored !== undefined) await closeStoredObject(trx, 'example', exampleId, example.lastModified);
      const from = stored === undefined ? example.createdOn : example.lastModified;
      await openStoredObject(trx, { userId: example.userId, kind: 'example', objectId: exampleId, bytes: example.bytes, from });
    }
    const closed = await closeUnlisted(trx, 'example', ids, listedAt, lastSeen);
    await recordListing(trx, 'examples', listedAt);
    return { closed };
  });
}

/** Closes the intervals of sessions whose blobs a complete listing of the sessions container did not find. */
export async function reconcileSessionObjects(db: Kysely<Database>, present: string[], listedAt: Date) {
  return db.transaction().execute(async (trx) => {
    const lastSeen = await previousListing(trx, 'sessions');
    const closed = await closeUnlisted(trx, 'session', present, listedAt, lastSeen);
    await recordListing(trx, 'sessions', listedAt);
    return { closed };
  });
}

/**
 * Writes one storage sample per user for every whole hour from the sampler's mark up to `lastCompletedHour`
 * (at most `maxCatchUpHours` back), each the byte-hours of that hour from the ledger: hours the timer missed are
 * filled with what was stored in them, not with what is stored now. One statement for all users; hours already
 * sampled are left alone (unique (user_id, hour)), and the mark moves in the same transaction. A sample worth
 * less than half a KB-hour is written as settled, so that the Stripe sync never has to touch it.
 */
export async function insertHourlySamples(db: Kysely<Database>, lastCompletedHour: Date, maxCatchUpHours: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const state = await trx.selectFrom('storage_sampler_state').select('sampled_until').forUpdate().executeTakeFirst();
    const earliest = new Date(lastCompletedHour.getTime() - (maxCatchUpHours - 1) * 3_600_000);
    const from = new Date(Math.max(state?.sampled_until.getTime() ?? earliest.getTime(), earliest.getTime()));
    if (from > lastCompletedHour) return 0;
    const result = await sql`
      insert into storage_samples (user_id, hour, bytes, stripe_sent_at, stripe_resolution)
      select user_id, hour, bytes,
        case when ${storageMeterValueSql('bytes')} = 0 then now() end,
        case when ${storageMeterValueSql('bytes')} = 0 then 'nothing_to_send' end
      from (
        select o.user_id, h.hour, round(sum(${BYTE_HOURS}))::bigint as bytes
        from (select hour, hour + interval '1 hour' as until
              from generate_series(${from}::timestamptz, ${lastCompletedHour}::timestamptz, interval '1 hour') as g(hour)) h
        join stored_objects o
          on o.stored_from < h.hour + interval '1 hour' and (o.stored_until is null or o.stored_until > h.hour)
        group by o.user_id, h.hour
      ) sampled
      where bytes > 0
      on conflict (user_id, hour) do nothing`.execute(trx);
    const until = new Date(lastCompletedHour.getTime() + 3_600_000);
    await trx
      .insertInto('storage_sampler_state')
      .values({ sampled_until: until })
      .onConflict((conflict) => conflict.column('singleton').doUpdateSet({ sampled_until: until }))
      .execute();
    return Number(result.numAffectedRows ?? 0n);
  });
}

/**
 * The hours from where samples end (the sampler's mark, or `floor` if later) up to `until`, with one user's
 * byte-hours in each, exactly as the sampler will compute them (the last hour counted up to `until` only): an SQL
 * query of (hour, byte_hours) for GET /v1/usage, which adds them to the samples so that its figure does not jump
 * when the sampler runs.
 */
export function unsampledHoursQuery(userId: string, floor: Date, until: Date) {
  // The objects those hours can hold: stored now, or ended after the first of them. Each through an index of its
  // own (0017), not the user's whole history; as two branches, since a generic plan cannot choose per "or".
  return sql`
    with first_hour as (
      select greatest(coalesce((select sampled_until from storage_sampler_state), ${floor}::timestamptz), ${floor}::timestamptz) as since
    ),
    objects as (
      select bytes, stored_from, null::timestamptz as stored_until from stored_objects
      where user_id = ${userId} and stored_until is null
      union all
      select bytes, stored_from, stored_until from stored_objects
      where user_id = ${userId} and stored_until is not null and stored_until > (select since from first_hour)
    )
    select h.hour, round(sum(${BYTE_HOURS}))::bigint as byte_hours
    from (select hour, least(hour + interval '1 hour', ${until}::timestamptz) as until
          from generate_series((select since from first_hour), ${until}::timestamptz - interval '1 microsecond', interval '1 hour') as g(hour)) h
    join objects o on o.stored_from < h.until and (o.stored_until is null or o.stored_until > h.hour)
    group by h.hour`;
}

/** Bytes a user stores now (an SQL scalar). */
export function storedBytesNow(userId: string) {
  return sql<number>`(select coalesce(sum(bytes), 0)::bigint from stored_objects where user_id = ${userId} and stored_until is null)`;
}
