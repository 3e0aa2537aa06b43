import { sql, type Kysely, type RawBuilder } from 'kysely';
import { inVisibleSuites, type Viewer } from '../auth/suiteAccess.js';
import type { BudgetRow, Database } from '../db/schema.js';
import { executeCompiledPrepared } from '../db/database.js';
import { storedBytesNow, unsampledHoursQuery } from './storageRepository.js';
import { storageMeterValueSql } from './pricing.js';
import { carriedInto } from './syncLists.js';

type Db = Kysely<Database>;

/** Whose usage (the owner, in the suites the key may see), over [start, end). */
export interface UsageWindow extends Viewer {
  start: Date;
  end: Date;
}

const DAY_MS = 86_400_000;

/** `column` in [start, end), the half-open window every figure here is read over. */
function during(column: string, { start, end }: { start: Date; end: Date }) {
  return sql`(${sql.ref(column)} >= ${start} and ${sql.ref(column)} < ${end})`;
}

/**
 * Tokens used in [from, to) (any instants), as an SQL scalar: whole days from the rollup, the partial days at
 * either end from the usage rows (one user, at most a day each, through token_usage_user_recorded_at_idx).
 */
function tokensBetween(window: Omit<UsageWindow, 'start' | 'end'>, from: Date, to: Date) {
  const direct = (a: Date, b: Date) => sql`
    (select coalesce(sum(input_tokens + output_tokens), 0)::bigint from token_usage
     where user_id = ${window.userId} and ${during('recorded_at', { start: a, end: b })} and ${inVisibleSuites('suite_id', window.suiteIds)})`;
  const firstWholeDay = new Date(Math.ceil(from.getTime() / DAY_MS) * DAY_MS);
  const endWholeDay = new Date(Math.floor(to.getTime() / DAY_MS) * DAY_MS);
  if (firstWholeDay >= endWholeDay) return direct(from, to);
  return sql`(
    (select coalesce(sum(input_tokens + output_tokens), 0)::bigint from token_usage_daily
      where user_id = ${window.userId} and day >= ${firstWholeDay.toISOString().slice(0, 10)}::date
        and day < ${endWholeDay.toISOString().slice(0, 10)}::date and ${inVisibleSuites('suite_id', window.suiteIds)})
    + ${direct(from, firstWholeDay)} + ${direct(endWholeDay, to)})`;
}

/** Tokens by model from the daily rollup: at most ~31 rows per suite and model, never the usage rows themselves. */
function tokensByModel(window: UsageWindow) {
  return sql`
    select m.provider, m.name, sum(d.input_tokens + d.output_tokens)::bigint as tokens
    from token_usage_daily d
    join models m on m.id = d.model_id
    where d.user_id = ${window.userId} and d.day >= ${window.start.toISOString().slice(0, 10)}::date
      and d.day < ${window.end.toISOString().slice(0, 10)}::date and ${inVisibleSuites('d.suite_id', window.suiteIds)}
    group by m.provider, m.name`;
}

/**
 * What, besides the sync state, decides where the estimate bills a row (billingPeriods.ts, usageService.ts): its
 * calendar month, and where its time falls between `spanBoundaries` (the instants subscriptions start and end).
 * Rows alike in these and in their sync state share their subscription, period, send deadline and place in the
 * month, so the estimate of their sum, stood in for by the earliest of them, is the sum of their estimates.
 */
function billedAlike(time: string, spanBoundaries: readonly Date[]) {
  return sql`date_trunc('month', ${sql.ref(time)}, 'UTC'), width_bucket(${sql.ref(time)}, ${spanBoundaries}::timestamptz[])`;
}

/** Where the sync stands with a row, the same columns in both tables. */
const SYNC_STATE = sql`t.stripe_timestamp as carried_to, t.stripe_sent_at is not null as sent,
  t.stripe_failed_at is not null as failed, t.stripe_attempted_at is not null as attempted, t.stripe_resolution as resolution`;

/**
 * The token rows whose billing is not simply "in the period of their time": carried into another period, failed,
 * or not sent yet (their period is decided when they are). For the current month (`pendingOfEarlierMonths`),
 * unsent rows of earlier months too, since they are carried into it.
 *
 * They come back summed by what decides their billing, not one by one: a month after a Stripe outage carries
 * thousands of rows into a few timestamps, and sending each to the estimate cost more than the rest of the
 * request. Rows are summed when they share their sync state and the timestamp they were sent with, and are
 * billed alike otherwise (billedAlike).
 */
function tokenExceptions(window: UsageWindow, pendingOfEarlierMonths: boolean, spanBoundaries: readonly Date[]) {
  const { userId, start, end } = window;
  const suites = inVisibleSuites('suite_id', window.suiteIds);
  const carriedIn = during('stripe_timestamp', window);
  // The same, in the carried list's own column.
  const listedIn = during('carried_to', window);
  const ofWindow = during('recorded_at', window);
  const carried = sql`(stripe_timestamp is not null and (${carriedIn} or ${ofWindow}))`;
  const columns = sql`recorded_at, input_tokens + output_tokens as amount, stripe_timestamp, stripe_sent_at is not null as sent,
    stripe_failed_at is not null as failed, stripe_attempted_at is not null as attempted, stripe_resolution`;
  // Carried rows are read from the carried list alone, which keeps their tokens and sync state (0016): fetching
  // each from token_usage cost a primary-key descent and a heap page per row, most of the request for a user with
  // thousands carried.
  const listed = sql`recorded_at, amount, carried_to as stripe_timestamp, sent, failed, attempted, resolution as stripe_resolution`;
  // The branches are disjoint (carried into the window, carried out of it, then failed or unsent rows not
  // carried), so no row is counted twice and none has to be told apart by id. Carried and unsent rows are found
  // through the sync's lists (migration 0015), each branch by an index of its own: asked as one "into or out of",
  // the generic plan of the prepared statement read all of the user's rows of the month to keep the carried ones.
  return sql`
    select min(recorded_at) as occurred_at, sum(amount)::bigint as amount, stripe_timestamp as carried_to, sent, failed,
      attempted, stripe_resolution as resolution
    from (
      select ${listed} from token_usage_carried where user_id = ${userId} and ${listedIn} and ${suites}
      union all
      select ${listed} from token_usage_carried
        where user_id = ${userId} and ${ofWindow} and not ${listedIn} and ${suites}
      union all
      select ${columns} from token_usage
        where user_id = ${userId} and stripe_failed_at is not null and ${ofWindow}
          and not ${carried} and ${suites}
      union all
      select ${columns} from token_usage
        where id in (
            select id from token_usage_unsent where user_id = ${userId} and recorded_at < ${end}
              and ${pendingOfEarlierMonths ? sql`true` : sql`recorded_at >= ${start}`})
          and stripe_sent_at is null and stripe_failed_at is null and not ${carried} and ${suites}
    ) as rows
    group by ${billedAlike('recorded_at', spanBoundaries)}, stripe_timestamp, sent, failed, attempted, stripe_resolution`;
}

/**
 * Storage that bears on the window: its samples, samples carried into it, (current month) unsent samples of
 * earlier hours, which will be, and the hours not sampled yet up to `until`, from the ledger as the sampler will
 * write them. Samples billed into a final invoice are rolled up (storageRollup.ts): a roll-up is one row standing
 * for all of its samples (same month, same sync state), with their meter values summed as they were sent.
 *
 * They come back summed by what decides their billing (billedAlike, and the sync state), each sum with the meter
 * value of its hours (KB-hours, each hour rounded on its own as the sampler sends it). A month is up to 744 hours
 * per user: shipped and placed one by one, a month of hourly samples cost the usage read 3.6-4.1 ms of Node's CPU
 * and 4.8 of PostgreSQL's (a past month, in-process, with the budget's read of the current month), against 0.8-1.6
 * and 1.9-2.6 summed; the current month's second day, 0.5 and 0.7.
 */
function storageHours(
  userId: string,
  window: { start: Date; end: Date },
  pendingOfEarlierMonths: boolean,
  until: Date,
  spanBoundaries: readonly Date[],
) {
  const { start, end } = window;
  const sample = sql`t.hour as occurred_at, t.bytes as amount, ${SYNC_STATE}, ${storageMeterValueSql('t.bytes')} as meter_value`;
  // The window's own samples are read straight through the (user_id, hour) index; the few from elsewhere (carried
  // into it, or unsent of earlier months) by id, less those of the window, so none is read twice. Gathering the ids
  // of all first, then fetching each by its key, took the statement 3.3 ms for a month of samples, against 1.0
  // (EXPLAIN ANALYZE).
  return sql`
    with elsewhere as (
      ${carriedInto('storage_samples', userId, start, end)}
      union
      select id from storage_samples_unsent where user_id = ${userId} and ${pendingOfEarlierMonths} and hour < ${start}
    )
    select min(occurred_at) as occurred_at, sum(amount)::bigint as amount, sum(meter_value)::bigint as meter_value,
      carried_to, sent, failed, attempted, resolution
    from (
      select ${sample} from storage_samples t where t.user_id = ${userId} and ${during('t.hour', window)}
      union all
      select ${sample} from elsewhere join storage_samples t using (id) where not ${during('t.hour', window)}
      union all
      select r.hour_from, r.byte_hours, r.carried_to, r.sent, r.failed, r.attempted, r.resolution, r.meter_kb_hours
      from storage_sample_rollups r
      where r.user_id = ${userId}
        and (${during('r.hour_from', window)} or ${during('r.carried_to', window)})
      union all
      select u.hour, u.byte_hours, null, false, false, false, null, ${storageMeterValueSql('u.byte_hours')}
      from (${unsampledHoursQuery(userId, start, new Date(Math.min(until.getTime(), end.getTime())))}) u
    ) as hours
    group by ${billedAlike('occurred_at', spanBoundaries)}, carried_to, sent, failed, attempted, resolution`;
}

export interface UsageRowState {
  /** When the usage happened. */
  occurredAt: Date;
  /** Tokens, or byte-hours (storage). */
  amount: number;
  /** Storage: the KB-hours its hours are sent as (each rounded on its own); null for tokens. */
  meterValue: number | null;
  /** The timestamp it was (or is to be) sent with, when not its own (carried). */
  carriedTo: Date | null;
  sent: boolean;
  failed: boolean;
  attempted: boolean;
  resolution: string | null;
}

export interface MonthOfUsage {
  sessionsUploaded: number;
  examplesGenerated: number;
  storedBytes: number;
  /** Tokens used in each of the periods asked for, by the time they were used. */
  periodTokens: number[];
  tokensByModel: Array<{ provider: string; name: string; tokens: number }>;
  /** Summed by what decides their billing (see tokenExceptions): each stands for rows billed alike. */
  tokenExceptions: UsageRowState[];
  /** The same for storage hours (see storageHours). */
  storageHours: UsageRowState[];
  /** The account's budget, whatever the window (GET /v1/usage shows it beside the month). */
  budget: Pick<BudgetRow, 'monthly_limit' | 'alert_thresholds'> | undefined;
}

interface JsonRowState {
  occurred_at: string;
  amount: number;
  meter_value?: number | null;
  carried_to: string | null;
  sent: boolean;
  failed: boolean;
  attempted: boolean;
  resolution: string | null;
}

function jsonRows(query: RawBuilder<unknown>) {
  return sql`(select coalesce(json_agg(q), '[]'::json) from (${query}) q)`;
}

function rowStates(rows: JsonRowState[]): UsageRowState[] {
  return rows.map((row) => ({
    occurredAt: new Date(row.occurred_at),
    amount: Number(row.amount),
    meterValue: row.meter_value === undefined || row.meter_value === null ? null : Number(row.meter_value),
    carriedTo: row.carried_to === null ? null : new Date(row.carried_to),
    sent: row.sent,
    failed: row.failed,
    attempted: row.attempted,
    resolution: row.resolution,
  }));
}

/**
 * Everything GET /v1/usage reads about a month, in one round trip (one connection per request, however busy the
 * pool): sessions uploaded and examples completed (index-only scans of the partial indexes of 0005), the bytes
 * stored now, the tokens of each period, the tokens by model, the token rows and storage hours whose billing the
 * estimate must place, summed by what decides it, and the budget.
 */
export async function readMonthOfUsage(
  db: Db,
  window: UsageWindow,
  options: {
    periods: Array<{ start: Date; end: Date }>;
    /** Where subscriptions start and end, ascending: see billedAlike. */
    spanBoundaries: readonly Date[];
    pendingOfEarlierMonths: boolean;
    until: Date;
  },
): Promise<MonthOfUsage> {
  const { userId } = window;
  const periodColumns = options.periods.map((period, index) => sql`${tokensBetween(window, period.start, period.end)} as ${sql.ref(`period_${index}`)}`);
  const query = sql<Record<string, unknown>>`
    select
      (select count(*) from sessions
        where user_id = ${userId} and status <> 'awaiting_upload' and ${during('created_at', window)}
          and ${inVisibleSuites('suite_id', window.suiteIds)}) as sessions_uploaded,
      (select count(*) from examples
        where user_id = ${userId} and status = 'COMPLETED' and ${during('completed_at', window)}
          and ${inVisibleSuites('suite_id', window.suiteIds)}) as examples_generated,
      ${storedBytesNow(userId)} as stored_bytes,
      ${jsonRows(tokensByModel(window))} as tokens_by_model,
      ${jsonRows(tokenExceptions(window, options.pendingOfEarlierMonths, options.spanBoundaries))} as token_exceptions,
      ${jsonRows(storageHours(userId, window, options.pendingOfEarlierMonths, options.until, options.spanBoundaries))} as storage_hours,
      (select json_build_object('monthly_limit', b.monthly_limit, 'alert_thresholds', b.alert_thresholds)
        from budgets b where b.user_id = ${userId}) as budget
      ${periodColumns.length > 0 ? sql`, ${sql.join(periodColumns)}` : sql``}`;
  // Prepared, on its generic plan: planning its dozen subqueries took 2.6-3.6 ms where running them took 0.4-0.9
  // (EXPLAIN ANALYZE, a light user).
  // Hash grouping: the heaviest bench user's carried rows (2,154 into 4 groups) took 9.5 ms of PostgreSQL's CPU
  // sorted, 7.7 hashed; a light user's statement the same either way.
  const [row = {}] = await executeCompiledPrepared<Record<string, unknown>>(db, 'usage_month', query.compile(db), { hashGrouping: true });
  return {
    sessionsUploaded: Number(row.sessions_uploaded ?? 0),
    examplesGenerated: Number(row.examples_generated ?? 0),
    storedBytes: Number(row.stored_bytes ?? 0),
    periodTokens: options.periods.map((_, index) => Number(row[`period_${index}`] ?? 0)),
    tokensByModel: ((row.tokens_by_model ?? []) as Array<{ provider: string; name: string; tokens: number }>)
      .map((entry) => ({ ...entry, tokens: Number(entry.tokens) }))
      .sort((a, b) => `${a.provider}/${a.name}`.localeCompare(`${b.provider}/${b.name}`)),
    tokenExceptions: rowStates((row.token_exceptions ?? []) as JsonRowState[]),
    storageHours: rowStates((row.storage_hours ?? []) as JsonRowState[]),
    budget: (row.budget ?? undefined) as MonthOfUsage['budget'],
  };
}

