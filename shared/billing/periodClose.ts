import type { BlobServiceClient } from '@azure/storage-blob';
import { sql, type Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { BillingConfig } from '../config.js';
import type { BillingSubscriptionRow, Database, JsonObject } from '../db/schema.js';
import { HOUR_MS, startOfMonth, type Interval } from './billingPeriods.js';
import { eventTimestamp, parseMeterEventIdentifier, type UsageKind } from './meterEvents.js';
import { MeterIds } from './meterReconciliation.js';
import { sampleStorage, type SamplerLog } from './storageSampler.js';
import { syncUsageToStripe, type SyncLog } from './stripeSync.js';
import { usageSentBetween, type SentUsage } from './stripeSyncRepository.js';
import { subscriptionsAliveBetween } from './subscriptionRepository.js';

/*
 * Closing a billing period, inside Stripe's invoice finalization grace period (the draft of a period is held
 * open BILLING_INVOICE_GRACE_MINUTES after it ends: invoiceService.holdDraftForGrace). Run every ten minutes;
 * it does something only when periods ended within the grace period and are not closed yet. Then:
 *
 * 1. the storage of the period's last hour is sampled, and every unsent row of those users is sent, so the last
 *    hour reaches Stripe before the invoice finalizes (not 15 minutes and a sampler hour later);
 * 2. for each period and meter, what was sent is compared with Stripe's meter event summaries, hour by hour
 *    (https://docs.stripe.com/api/billing/meter-event-summary/list, `value_grouping_window=hour`). Summaries are
 *    eventually consistent, so an hour with rows sent in the last SUMMARY_SETTLE_MS is judged on a later run.
 *    Where Stripe has less, the missing rows are found (to the minute where needed: Stripe has nothing for the
 *    minute, or lacks exactly one row's value) and resent with their timestamp and a new identifier (an event
 *    Stripe dropped, e.g. an asynchronous rejection not named in an error report's samples, may still hold its
 *    identifier for a day). Where the figures fit no single answer, or Stripe has more than was sent, the close
 *    records a discrepancy for a person, and resends nothing;
 * 3. the outcome is kept in billing_period_closes: `reconciled`, `pending` (rows resent, or too recent to judge:
 *    checked again on the next run while the grace lasts; hence a grace of 30 minutes at least), `discrepancy`.
 */

export interface PeriodCloseDeps {
  db: Kysely<Database>;
  /** The meter-event client (no automatic retries), or null while billing is off. */
  stripe: Stripe | null;
  blobs: BlobServiceClient;
  billing: BillingConfig;
  log: SyncLog & SamplerLog;
}

interface EndedPeriod extends Interval {
  subscription: BillingSubscriptionRow;
}

export interface PeriodCloseReport {
  periods: number;
  reconciled: number;
  pending: number;
  discrepancies: number;
}

/** How long Stripe's meter event summaries may lag the events it accepted (they are eventually consistent). */
const SUMMARY_SETTLE_MS = 15 * 60_000;

/** The periods of these subscriptions that ended in (since, now]: at a month start, or at the subscription's end. */
function periodsEndedBetween(subscriptions: BillingSubscriptionRow[], since: Date, now: Date): EndedPeriod[] {
  const periods: EndedPeriod[] = [];
  for (const subscription of subscriptions) {
    const monthStart = startOfMonth(now);
    const ended = subscription.ended_at;
    if (ended && ended > since && ended <= now) {
      const start = Math.max(subscription.started_at.getTime(), startOfMonth(new Date(ended.getTime() - 1)).getTime());
      periods.push({ subscription, start: new Date(start), end: ended });
    } else if (monthStart > since && monthStart <= now && subscription.started_at < monthStart && (!ended || ended > monthStart)) {
      const previous = startOfMonth(new Date(monthStart.getTime() - 1));
      periods.push({
        subscription,
        start: new Date(Math.max(subscription.started_at.getTime(), previous.getTime())),
        end: monthStart,
      });
    }
  }
  return periods;
}

async function unclosed(db: Kysely<Database>, periods: EndedPeriod[]): Promise<EndedPeriod[]> {
  if (periods.length === 0) return [];
  const closed = await db
    .selectFrom('billing_period_closes')
    .select(['stripe_subscription_id', 'period_end'])
    .where('outcome', '<>', 'pending')
    .where('stripe_subscription_id', 'in', periods.map((period) => period.subscription.stripe_subscription_id))
    .execute();
  const done = new Set(closed.map((row) => `${row.stripe_subscription_id}|${row.period_end.getTime()}`));
  return periods.filter((period) => !done.has(`${period.subscription.stripe_subscription_id}|${period.end.getTime()}`));
}

interface Comparison {
  resend: SentUsage[];
  excess: JsonObject[];
  ambiguous: JsonObject[];
  /** Hours with rows sent too recently for Stripe's summaries to show them yet. */
  unsettled: number;
}

function sum(rows: SentUsage[]): number {
  return rows.reduce((total, row) => total + row.value, 0);
}

function groupBy(rows: SentUsage[], size: number): Map<number, SentUsage[]> {
  const groups = new Map<number, SentUsage[]>();
  for (const row of rows) {
    const key = Math.floor(eventTimestamp(row.eventAt) / size) * size;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return groups;
}

async function summaryValue(
  stripe: Stripe,
  meterId: string,
  customer: string,
  from: number,
  to: number,
  grouping?: 'hour',
): Promise<Map<number, number>> {
  const summaries = await stripe.billing.meters
    .listEventSummaries(meterId, { customer, start_time: from, end_time: to, ...(grouping ? { value_grouping_window: grouping } : {}) })
    .autoPagingToArray({ limit: 10_000 });
  const values = new Map<number, number>();
  for (const summary of summaries) values.set(summary.start_time, (values.get(summary.start_time) ?? 0) + summary.aggregated_value);
  return values;
}

/** Which of a group's rows Stripe lacks, when the figures say so unambiguously. */
function missingRows(rows: SentUsage[], inStripe: number): SentUsage[] | undefined {
  if (inStripe === 0) return rows;
  const lacking = sum(rows) - inStripe;
  const exact = rows.filter((row) => row.value === lacking);
  return exact.length === 1 ? exact : undefined;
}

async function compareMeter(
  deps: PeriodCloseDeps & { stripe: Stripe },
  meterId: string,
  kind: UsageKind,
  period: EndedPeriod,
  customer: string,
  now: Date,
): Promise<Comparison> {
  const from = Math.floor(period.start.getTime() / HOUR_MS) * HOUR_MS;
  const to = Math.ceil(period.end.getTime() / HOUR_MS) * HOUR_MS;
  const ours = await usageSentBetween(deps.db, kind, period.subscription.user_id, new Date(from), new Date(to), { includeInDoubt: true });
  const stripeByHour = await summaryValue(deps.stripe, meterId, customer, from / 1000, to / 1000, 'hour');
  const oursByHour = groupBy(ours, 3600);
  const comparison: Comparison = { resend: [], excess: [], ambiguous: [], unsettled: 0 };
  for (const hour of new Set([...stripeByHour.keys(), ...oursByHour.keys()])) {
    const rows = oursByHour.get(hour) ?? [];
    // Stripe's summaries lag what it accepted by minutes: an hour with rows just sent is judged next run.
    if (rows.some((row) => !row.sent || !row.attemptedAt || now.getTime() - row.attemptedAt.getTime() < SUMMARY_SETTLE_MS)) {
      comparison.unsettled++;
      continue;
    }
    const inStripe = stripeByHour.get(hour) ?? 0;
    if (inStripe === sum(rows)) continue;
    if (inStripe > sum(rows)) {
      comparison.excess.push({ kind, hour: new Date(hour * 1000).toISOString(), in_stripe: inStripe, sent: sum(rows) });
      continue;
    }
    // To the minute (most minutes hold one row); an hour of one minute's rows needs no second look.
    const minutes = groupBy(rows, 60);
    for (const [minute, minuteRows] of minutes) {
      const minuteValue =
        minutes.size === 1 ? inStripe : ((await summaryValue(deps.stripe, meterId, customer, minute, minute + 60)).get(minute) ?? 0);
      if (minuteValue === sum(minuteRows)) continue;
      const missing = minuteValue > sum(minuteRows) ? undefined : missingRows(minuteRows, minuteValue);
      if (missing) comparison.resend.push(...missing);
      else comparison.ambiguous.push({ kind, minute: new Date(minute * 1000).toISOString(), in_stripe: minuteValue, sent: sum(minuteRows) });
    }
  }
  return comparison;
}

/**
 * Puts rows found missing back in the sync's hands: the same timestamp (their period), a new identifier (Stripe may
 * hold the old one for a day without counting it).
 */
async function reopenForResend(db: Kysely<Database>, kind: UsageKind, rows: SentUsage[]): Promise<void> {
  if (rows.length === 0) return;
  const table = sql.table(kind === 'tokens' ? 'token_usage' : 'storage_samples');
  const identifiers = rows.map((row) => {
    const parsed = parseMeterEventIdentifier(row.identifier);
    return parsed ? `${parsed.base}-r${parsed.resend + 1}` : `${row.identifier}-r1`;
  });
  await sql`
    update ${table} as t set stripe_sent_at = null, stripe_attempted_at = null, stripe_resolution = 'reconcile_resend',
      stripe_timestamp = r.event_at, stripe_identifier = r.identifier
    from unnest(${rows.map((row) => row.id)}::uuid[], ${rows.map((row) => row.eventAt)}::timestamptz[], ${identifiers}::text[])
      as r(id, event_at, identifier)
    where t.id = r.id`.execute(db);
}

async function runSync(deps: PeriodCloseDeps & { stripe: Stripe }, userIds: string[], now: Date) {
  // Another run may hold the sync lock for a moment; the period close waits for its turn a few times.
  for (let attempt = 0; attempt < 5; attempt++) {
    const report = await syncUsageToStripe(
      deps.db,
      deps.stripe,
      {
        eventNames: deps.billing.meterEvents,
        concurrency: deps.billing.sync.concurrency,
        timeBudgetMs: deps.billing.sync.timeBudgetSeconds * 1000,
        invoiceGraceMs: deps.billing.invoiceGraceMinutes * 60_000,
        userIds,
        clock: () => now,
      },
      deps.log,
    );
    if (report.outcome !== 'skipped_locked') return report;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  return undefined;
}

/** One run of the `closeBillingPeriods` timer. */
export async function closeBillingPeriods(deps: PeriodCloseDeps, now: Date): Promise<PeriodCloseReport> {
  const report: PeriodCloseReport = { periods: 0, reconciled: 0, pending: 0, discrepancies: 0 };
  const { stripe } = deps;
  if (!stripe) return report;
  const since = new Date(now.getTime() - deps.billing.invoiceGraceMinutes * 60_000);
  const periods = await unclosed(deps.db, periodsEndedBetween(await subscriptionsAliveBetween(deps.db, since, now), since, now));
  if (periods.length === 0) return report;
  report.periods = periods.length;
  const withStripe = { ...deps, stripe };
  const userIds = [...new Set(periods.map((period) => period.subscription.user_id))];

  await sampleStorage(deps.db, deps.blobs, deps.log, now);
  await runSync(withStripe, userIds, now);

  const customers = new Map(
    (await deps.db.selectFrom('users').select(['id', 'stripe_customer_id']).where('id', 'in', userIds).execute()).map((row) => [
      row.id,
      row.stripe_customer_id,
    ]),
  );
  const meterIds = new MeterIds(stripe);
  let resent = 0;
  const outcomes: Array<{ period: EndedPeriod; details: JsonObject; outcome: 'reconciled' | 'pending' | 'discrepancy' }> = [];
  for (const period of periods) {
    const customer = customers.get(period.subscription.user_id);
    if (!customer) continue;
    const details: JsonObject = {};
    let outcome: 'reconciled' | 'pending' | 'discrepancy' = 'reconciled';
    for (const kind of ['tokens', 'storage'] as const) {
      const comparison = await compareMeter(withStripe, await meterIds.of(deps.billing.meterEvents[kind]), kind, period, customer, now);
      await reopenForResend(deps.db, kind, comparison.resend);
      resent += comparison.resend.length;
      details[kind] = {
        resent: comparison.resend.length,
        unsettled_hours: comparison.unsettled,
        excess: comparison.excess,
        ambiguous: comparison.ambiguous,
      };
      if (comparison.excess.length > 0 || comparison.ambiguous.length > 0) outcome = 'discrepancy';
      else if ((comparison.resend.length > 0 || comparison.unsettled > 0) && outcome === 'reconciled') outcome = 'pending';
    }
    outcomes.push({ period, details, outcome });
  }
  if (resent > 0) await runSync(withStripe, userIds, now);

  for (const { period, details, outcome } of outcomes) {
    await deps.db
      .insertInto('billing_period_closes')
      .values({
        stripe_subscription_id: period.subscription.stripe_subscription_id,
        period_end: period.end,
        user_id: period.subscription.user_id,
        period_start: period.start,
        outcome,
        details: JSON.stringify(details),
        closed_at: now,
      })
      .onConflict((conflict) =>
        conflict.columns(['stripe_subscription_id', 'period_end']).doUpdateSet((eb) => ({
          outcome: eb.ref('excluded.outcome'),
          details: eb.ref('excluded.details'),
          closed_at: eb.ref('excluded.closed_at'),
        })),
      )
      .execute();
    report[outcome === 'reconciled' ? 'reconciled' : outcome === 'pending' ? 'pending' : 'discrepancies']++;
    if (outcome === 'discrepancy') {
      deps.log.error(
        `Billing period close: ${period.subscription.stripe_subscription_id} ${period.start.toISOString()}..` +
          `${period.end.toISOString()} differs from Stripe's figures: ${JSON.stringify(details)}`,
      );
    }
  }
  return report;
}
