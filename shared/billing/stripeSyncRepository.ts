import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database, JsonObject, StripeSyncOutcome } from '../db/schema.js';
import {
  BILLED_RESOLUTIONS,
  storageSampleIdentifier,
  tokenUsageIdentifier,
  type PendingUsage,
  type UsageKind,
} from './meterEvents.js';
import { storageMeterValue } from './pricing.js';
import { carriedInto, type UsageTable } from './syncLists.js';

type Db = Kysely<Database>;

const TABLE: Record<UsageKind, UsageTable> = {
  tokens: 'token_usage',
  storage: 'storage_samples',
};

/**
 * A timestamp as milliseconds since the epoch (float8, so microseconds are kept): a page has thousands of rows, and
 * parsing their timestamps' text into Dates (postgres-date) was the largest single cost of the sync in Node.
 */
function epochMs(column: RawBuilder<unknown>) {
  return sql`(extract(epoch from ${column}) * 1000)::float8`;
}

/** Where a page ends: its last row's key. */
export interface Cursor {
  /**
   * The row's time as PostgreSQL writes it (microseconds): a Date keeps milliseconds only, and the next page,
   * read while this one's calls are still under way, would take that row (and any of its millisecond) again.
   */
  at: string;
  id: string;
}

export interface PendingFilter {
  /** Rows waiting out a healable rejection are left until their time. */
  now: Date;
  /** Only these users' rows (the period close), else everyone's. */
  userIds?: string[];
}

/** A page of pending rows: those to send, and where the next page starts (null: nothing was left). */
export interface PendingPage {
  rows: PendingUsage[];
  next: Cursor | null;
}

/**
 * The next unsent, not failed rows of one kind after `cursor`, oldest first, with their user's Stripe customer.
 * Users without a customer are left out (their rows wait, unsent), so a page may hold fewer rows than `limit`, or
 * none, while more follow: `next` says where the following page starts. Read from the kind's work list
 * (*_unsent, migration 0015) in its time order.
 */
export async function selectPendingUsage(
  db: Db,
  kind: UsageKind,
  after: Cursor | null,
  limit: number,
  filter: PendingFilter,
): Promise<PendingPage> {
  if (kind === 'tokens') {
    const users = filter.userIds ? sql`and q.user_id = any(${filter.userIds}::uuid[])` : sql``;
    const afterCursor = after ? sql`and (q.recorded_at, q.id) > (${after.at}::timestamptz, ${after.id}::uuid)` : sql``;
    // The page's keys come from the work list alone, and its rows are then read by id. Asked in one query (join,
    // order by, limit), the planner takes "after the cursor" and "waits for no one" as independent, and reads and
    // sorts every pending row after the cursor for each page: 50,000 rows for a page of 4,000 in the bench.
    const { rows } = await sql<{
      page_end_at: string;
      page_end_id: string;
      id: string | null;
      example_id: string;
      user_id: string;
      customer_id: string;
      value: number;
      occurred_at: number;
      sent_timestamp: number | null;
      attempted_at: number | null;
      identifier: string | null;
    }>`
      with page as materialized (
        select q.recorded_at, q.id from token_usage_unsent q
        where true ${users} ${afterCursor}
        order by q.recorded_at, q.id
        limit ${limit}
      ),
      page_end as (select recorded_at, id from page order by recorded_at desc, id desc limit 1)
      select e.recorded_at::text as page_end_at, e.id as page_end_id, t.id, t.example_id, t.user_id,
        u.stripe_customer_id as customer_id, (t.input_tokens + t.output_tokens) as value,
        ${epochMs(sql`t.recorded_at`)} as occurred_at, ${epochMs(sql`t.stripe_timestamp`)} as sent_timestamp,
        ${epochMs(sql`t.stripe_attempted_at`)} as attempted_at, t.stripe_identifier as identifier
      from page_end e
      left join (page p join token_usage t on t.id = p.id join users u on u.id = t.user_id)
        on t.stripe_sent_at is null and t.stripe_failed_at is null and u.stripe_customer_id is not null
          and (t.stripe_retry_at is null or t.stripe_retry_at <= ${filter.now})
      order by t.recorded_at, t.id`.execute(db);
    const end = rows[0];
    const pending: PendingUsage[] = [];
    for (const row of rows) {
      if (row.id === null) continue; // the page held only rows that wait
      pending.push({
        kind,
        id: row.id,
        userId: row.user_id,
        customerId: row.customer_id,
        value: row.value,
        occurredAt: new Date(row.occurred_at),
        sentTimestamp: row.sent_timestamp === null ? null : new Date(row.sent_timestamp),
        attemptedAt: row.attempted_at === null ? null : new Date(row.attempted_at),
        identifier: row.identifier ?? tokenUsageIdentifier(row.example_id),
      });
    }
    return { rows: pending, next: end ? { at: end.page_end_at, id: end.page_end_id } : null };
  }
  const users = filter.userIds ? sql`and q.user_id = any(${filter.userIds}::uuid[])` : sql``;
  const { rows } = await sql<{
    id: string;
    user_id: string;
    customer_id: string;
    bytes: number;
    occurred_at: Date;
    cursor_at: string;
    sent_timestamp: Date | null;
    attempted_at: Date | null;
    identifier: string | null;
  }>`
    select s.id, s.user_id, u.stripe_customer_id as customer_id, s.bytes, s.hour as occurred_at, q.hour::text as cursor_at,
      s.stripe_timestamp as sent_timestamp, s.stripe_attempted_at as attempted_at, s.stripe_identifier as identifier
    from storage_samples_unsent q
    join storage_samples s on s.id = q.id
    join users u on u.id = q.user_id
    where s.stripe_sent_at is null and s.stripe_failed_at is null and u.stripe_customer_id is not null
      and (s.stripe_retry_at is null or s.stripe_retry_at <= ${filter.now}) ${users}
      ${after ? sql`and (q.hour, q.id) > (${after.at}::timestamptz, ${after.id}::uuid)` : sql``}
    order by q.hour, q.id
    limit ${limit}`.execute(db);
  const last = rows.at(-1);
  return {
    rows: rows.map((row) => ({
      kind,
      id: row.id,
      userId: row.user_id,
      customerId: row.customer_id,
      value: storageMeterValue(row.bytes),
      occurredAt: row.occurred_at,
      sentTimestamp: row.sent_timestamp,
      attemptedAt: row.attempted_at,
      identifier: row.identifier ?? storageSampleIdentifier(row.user_id, row.occurred_at),
    })),
    next: last ? { at: last.cursor_at, id: last.id } : null,
  };
}

/**
 * Notes, before the calls are made, that these rows may reach Stripe: from here until Stripe confirms, they are
 * in doubt, even if this process dies. The first attempt's time is kept (Stripe's duplicate window runs from it)
 * unless `restartWindow` (a resend after reconciliation showed Stripe never had the event). A row carried into a
 * later period keeps the timestamp it is sent with, so that every retry sends the same event.
 */
export async function markAttempted(
  db: Db,
  kind: UsageKind,
  rows: Array<{ id: string; carriedTo: Date | null }>,
  restartWindow = false,
): Promise<void> {
  if (rows.length === 0) return;
  const table = sql.table(TABLE[kind]);
  await sql`
    update ${table} as t set
      stripe_attempted_at = ${restartWindow ? sql`now()` : sql`coalesce(t.stripe_attempted_at, now())`},
      stripe_attempts = t.stripe_attempts + 1,
      stripe_timestamp = coalesce(t.stripe_timestamp, a.carried_to)
    from unnest(${rows.map((row) => row.id)}::uuid[], ${rows.map((row) => row.carriedTo)}::timestamptz[]) as a(id, carried_to)
    where t.id = a.id`.execute(db);
}

/**
 * Undoes markAttempted for rows whose call was never made (the run stopped first): rows without an earlier call
 * are no longer in doubt (and their period is decided again next time); rows with one keep the time of that call.
 */
export async function unmarkNotAttempted(db: Db, kind: UsageKind, rows: PendingUsage[]): Promise<void> {
  if (rows.length === 0) return;
  const fresh = rows.filter((row) => row.attemptedAt === null).map((row) => row.id);
  const earlier = rows.filter((row) => row.attemptedAt !== null).map((row) => row.id);
  await sql`
    update ${sql.table(TABLE[kind])} set
      stripe_attempted_at = case when id = any(${fresh}::uuid[]) then null else stripe_attempted_at end,
      stripe_timestamp = case when id = any(${fresh}::uuid[]) then null else stripe_timestamp end,
      stripe_attempts = greatest(stripe_attempts - 1, 0)
    where id = any(${[...fresh, ...earlier]}::uuid[]) and stripe_sent_at is null`.execute(db);
}

export async function markSent(db: Db, kind: UsageKind, ids: string[], resolution: string): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    update ${sql.table(TABLE[kind])} set stripe_sent_at = now(), stripe_resolution = ${resolution}, stripe_error = null,
      stripe_retry_at = null
    where id = any(${ids}::uuid[]) and stripe_sent_at is null`.execute(db);
}

export async function markFailed(
  db: Db,
  kind: UsageKind,
  failures: Array<{ id: string; error: string }>,
  resolution: string,
): Promise<void> {
  if (failures.length === 0) return;
  await sql`
    update ${sql.table(TABLE[kind])} as t set
      stripe_failed_at = now(), stripe_resolution = ${resolution}, stripe_error = f.error, stripe_retry_at = null
    from unnest(${failures.map((f) => f.id)}::uuid[], ${failures.map((f) => f.error)}::text[]) as f(id, error)
    where t.id = f.id and t.stripe_sent_at is null`.execute(db);
}

/**
 * A rejection that can heal: the row stays unsent and unfailed, and is tried again after a back-off that grows
 * with its attempts. Stripe processed nothing, so the row is not in doubt either.
 */
export async function markRetry(
  db: Db,
  kind: UsageKind,
  retries: Array<{ id: string; error: string }>,
  now: Date,
): Promise<void> {
  if (retries.length === 0) return;
  const hourMs = 3_600_000;
  await sql`
    update ${sql.table(TABLE[kind])} as t set
      stripe_resolution = 'retrying', stripe_error = f.error, stripe_attempted_at = null, stripe_timestamp = null,
      stripe_retry_at = ${now}::timestamptz + least(interval '24 hours',
        make_interval(secs => ${hourMs / 1000} * power(2, greatest(t.stripe_attempts - 1, 0))))
    from unnest(${retries.map((f) => f.id)}::uuid[], ${retries.map((f) => f.error)}::text[]) as f(id, error)
    where t.id = f.id and t.stripe_sent_at is null`.execute(db);
}

/** A user's rows of one kind whose event timestamp falls in [from, to): for reconciling with Stripe's summaries. */
export async function usageInMinute(
  db: Db,
  kind: UsageKind,
  userId: string,
  from: Date,
  to: Date,
): Promise<Array<{ id: string; value: number; sent: boolean; inDoubt: boolean }>> {
  const rows = await usageSentBetween(db, kind, userId, from, to, { includeInDoubt: true });
  return rows.map((row) => ({ id: row.id, value: row.value, sent: row.sent, inDoubt: row.inDoubt }));
}

export interface SentUsage {
  id: string;
  value: number;
  /** The event timestamp it was sent with. */
  eventAt: Date;
  identifier: string;
  sent: boolean;
  inDoubt: boolean;
  /** When Stripe first may have received it (the first call). */
  attemptedAt: Date | null;
}

/**
 * The ids of a user's rows whose event timestamp is in [from, to): not carried and of that time, or carried to it
 * (the carried ones through the sync's list, migration 0015). Two branches, each with its index: as one "or" the
 * planner reads every row of the user.
 */
function inEventWindow(table: UsageTable, time: 'recorded_at' | 'hour', userId: string, from: Date, to: Date) {
  return sql`
    select id from ${sql.table(table)}
      where user_id = ${userId} and ${sql.ref(time)} >= ${from} and ${sql.ref(time)} < ${to} and stripe_timestamp is null
    union all
    ${carriedInto(table, userId, from, to)}`;
}

/**
 * A user's rows of one kind whose event (as sent, or to be sent) has its timestamp in [from, to): what Stripe
 * should count for that time. Rows Stripe has confirmed, and rows in doubt on request.
 */
export async function usageSentBetween(
  db: Db,
  kind: UsageKind,
  userId: string,
  from: Date,
  to: Date,
  options: { includeInDoubt?: boolean } = {},
): Promise<SentUsage[]> {
  const billed = sql`stripe_sent_at is not null and stripe_resolution = any(${BILLED_RESOLUTIONS}::text[])`;
  const inDoubt = sql`stripe_sent_at is null and stripe_failed_at is null and stripe_attempted_at is not null`;
  const which = options.includeInDoubt ? sql`((${billed}) or (${inDoubt}))` : billed;
  if (kind === 'tokens') {
    const { rows } = await sql<{ id: string; example_id: string; value: number; event_at: Date; identifier: string | null; sent: boolean; in_doubt: boolean; attempted_at: Date | null }>`
      select id, example_id, (input_tokens + output_tokens) as value,
        coalesce(stripe_timestamp, date_trunc('second', recorded_at)) as event_at, stripe_identifier as identifier,
        stripe_sent_at is not null as sent, ${inDoubt} as in_doubt, stripe_attempted_at as attempted_at
      from token_usage
      where user_id = ${userId} and ${which} and id in (${inEventWindow('token_usage', 'recorded_at', userId, from, to)})`.execute(db);
    return rows.map((row) => ({
      id: row.id,
      value: row.value,
      eventAt: row.event_at,
      identifier: row.identifier ?? tokenUsageIdentifier(row.example_id),
      sent: row.sent,
      inDoubt: row.in_doubt,
      attemptedAt: row.attempted_at,
    }));
  }
  const { rows } = await sql<{ id: string; hour: Date; bytes: number; event_at: Date; identifier: string | null; sent: boolean; in_doubt: boolean; attempted_at: Date | null }>`
    select id, hour, bytes, coalesce(stripe_timestamp, hour) as event_at, stripe_identifier as identifier,
      stripe_sent_at is not null as sent, ${inDoubt} as in_doubt, stripe_attempted_at as attempted_at
    from storage_samples
    where user_id = ${userId} and ${which} and id in (${inEventWindow('storage_samples', 'hour', userId, from, to)})`.execute(db);
  return rows.map((row) => ({
    id: row.id,
    value: storageMeterValue(row.bytes),
    eventAt: row.event_at,
    identifier: row.identifier ?? storageSampleIdentifier(userId, row.hour),
    sent: row.sent,
    inDoubt: row.in_doubt,
    attemptedAt: row.attempted_at,
  }));
}

/** Rows that wait only because their user has no Stripe customer yet. */
export async function countWaitingWithoutCustomer(db: Db): Promise<{ tokens: number; storage: number }> {
  const { rows } = await sql<{ tokens: number; storage: number }>`
    select
      (select count(*) from token_usage_unsent q join users u on u.id = q.user_id where u.stripe_customer_id is null) as tokens,
      (select count(*) from storage_samples_unsent q join users u on u.id = q.user_id where u.stripe_customer_id is null) as storage`.execute(
    db,
  );
  return rows[0] ?? { tokens: 0, storage: 0 };
}

export async function countPending(db: Db): Promise<{ tokens: number; storage: number }> {
  const { rows } = await sql<{ tokens: number; storage: number }>`
    select (select count(*) from token_usage_unsent) as tokens, (select count(*) from storage_samples_unsent) as storage`.execute(db);
  return rows[0] ?? { tokens: 0, storage: 0 };
}

// One key for "the Stripe sync runs": a session advisory lock held for the whole run
// (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS).
const SYNC_LOCK = sql`hashtext('tracepipe.stripe_sync')`;

export async function tryLockSync(db: Db): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${SYNC_LOCK}) as locked`.execute(db);
  return rows[0]?.locked === true;
}

export async function unlockSync(db: Db): Promise<void> {
  await sql`select pg_advisory_unlock(${SYNC_LOCK})`.execute(db);
}

export async function startSyncRun(db: Db, outcome: StripeSyncOutcome = 'running', details: JsonObject = {}): Promise<string> {
  const row = await db
    .insertInto('stripe_sync_runs')
    .values({
      outcome,
      details: JSON.stringify(details),
      ...(outcome === 'running' ? {} : { finished_at: new Date() }),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function finishSyncRun(db: Db, id: string, outcome: StripeSyncOutcome, details: JsonObject): Promise<void> {
  await db
    .updateTable('stripe_sync_runs')
    .set({ outcome, details: JSON.stringify(details), finished_at: new Date() })
    .where('id', '=', id)
    .execute();
}
