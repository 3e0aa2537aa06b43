import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import { canSeeSuite } from '../auth/suiteAccess.js';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import {
  calendarMonthOf,
  parseMonth,
  periodsIn,
  placeUsage,
  type Interval,
  type SubscriptionSpan,
} from './billingPeriods.js';
import { budgetStateOf } from './budgetRules.js';
import { BILLED_RESOLUTIONS } from './meterEvents.js';
import { isBillingEnabled } from './paymentMethodRequirement.js';
import { BYTES_PER_GB, configuredUnitPrices, KB_PER_GB, lineAmount } from './pricing.js';
import { spanOf, subscriptionsOfUser } from './subscriptionRepository.js';
import { suiteExists } from '../catalog/suiteRepository.js';
import { readMonthOfUsage, type MonthOfUsage, type UsageRowState } from './usageRepository.js';
import type { UsageQueryInput, UsageResponse } from './usageSchemas.js';

/*
 * GET /v1/usage: a calendar month (UTC) of usage, and what its invoices will say.
 *
 * Each usage row is billed where the Stripe sync puts it (billingPeriods.ts): in the subscription period of its
 * own time while that period's invoice can still take it, carried into the period open now once it cannot, or
 * nowhere (outside every subscription; refused by Stripe for good). The estimate places every row the same way,
 * sent or not yet, and prices each period as Stripe does: each meter's quantity (tokens; storage samples in
 * KB-hours, rounded hour by hour as the sampler sends them) times the subscription's unit price, rounded to a
 * whole minor unit per line. So `estimated_cost` is what the invoices of the month will say for the same usage.
 * Without Stripe, the whole month is one period at the configured prices: what the usage would cost.
 *
 * Figures come from aggregates, in two round trips (the subscriptions, then one query for the rest): the daily
 * token rollup (and the usage rows of partial days at a period's edge), the token rows the sync has not settled
 * simply, the storage samples and the ledger for the hours not sampled yet (exactly what the sampler will write for
 * them, so the figure does not jump when it runs), rows and hours summed by what decides their billing.
 */

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Everything since the epoch, at the configured prices: billing off bills nothing, but shows what it would cost. */
const UNBILLED_SPAN: SubscriptionSpan = { id: 'billing-off', startedAt: new Date(0), endedAt: null, prices: {} };

/** Where a row is (or will be) billed: its event's time, or null when no invoice bills it. */
function billedAt(row: UsageRowState, spans: readonly SubscriptionSpan[], now: Date, graceMs: number): Date | null {
  if (row.failed) return null;
  if (row.sent) return row.resolution !== null && BILLED_RESOLUTIONS.includes(row.resolution) ? (row.carriedTo ?? row.occurredAt) : null;
  // A call may have reached Stripe: the event's time was decided then.
  if (row.attempted) return row.carriedTo ?? row.occurredAt;
  const placement = placeUsage(spans, row.occurredAt, now, graceMs);
  return placement.kind === 'own' || placement.kind === 'carried' ? placement.at : null;
}

function indexOf(periods: readonly Interval[], at: Date | null): number {
  if (at === null) return -1;
  return periods.findIndex((period) => period.start <= at && at < period.end);
}

function within(interval: Interval, at: Date): boolean {
  return interval.start <= at && at < interval.end;
}

interface Allocation {
  perPeriod: number[];
  carriedIn: number;
  carriedOut: number;
  /** Usage of the month inside a period that no invoice bills (failed, stranded). */
  lost: number;
}

/** Moves each row from where its time would put it to where it is billed. */
function allocate(
  rows: UsageRowState[],
  value: (row: UsageRowState) => number,
  start: number[],
  context: { month: Interval; periods: Interval[]; spans: SubscriptionSpan[]; now: Date; graceMs: number; natural: boolean },
): Allocation {
  const allocation: Allocation = { perPeriod: [...start], carriedIn: 0, carriedOut: 0, lost: 0 };
  for (const row of rows) {
    const amount = value(row);
    const at = billedAt(row, context.spans, context.now, context.graceMs);
    const own = indexOf(context.periods, row.occurredAt);
    const billed = indexOf(context.periods, at);
    const ofThisMonth = within(context.month, row.occurredAt);
    if (context.natural && own >= 0) allocation.perPeriod[own] = (allocation.perPeriod[own] ?? 0) - amount;
    if (billed >= 0) allocation.perPeriod[billed] = (allocation.perPeriod[billed] ?? 0) + amount;
    if (billed >= 0 && !ofThisMonth) allocation.carriedIn += amount;
    if (ofThisMonth && at !== null && billed < 0) allocation.carriedOut += amount;
    if (ofThisMonth && at === null && (own >= 0 || !context.natural)) allocation.lost += amount;
  }
  return allocation;
}

/** GET /v1/usage (and the MCP and A2P usage tools): one calendar month, the current one by default, and the budget. */
export async function getMonthlyUsage(
  db: Kysely<Database>,
  config: Config,
  auth: AuthContext,
  query: UsageQueryInput,
  now: Date,
): Promise<UsageResponse> {
  const { usage, budget } = await computeMonthlyUsage(db, config, auth, query, now);
  // The budget is the whole account's, this month: the same figure when this view is that one, computed apart otherwise.
  const wholeAccountNow = auth.suiteIds === null && query.suite_id === undefined && usage.billing_period.start === calendarMonthOf(now).start.toISOString();
  const used = wholeAccountNow ? usage.estimated_cost.total : await accountMonthCost(db, config, auth.userId, now);
  return { ...usage, budget: budgetStateOf(budget, used, config.billing.currency) };
}

/** What this calendar month costs the whole account so far: `estimated_cost.total` of an unfiltered GET /v1/usage. */
export async function accountMonthCost(db: Kysely<Database>, config: Config, userId: string, now: Date): Promise<number> {
  return (await computeMonthlyUsage(db, config, { userId, suiteIds: null }, {}, now)).usage.estimated_cost.total;
}

async function computeMonthlyUsage(
  db: Kysely<Database>,
  config: Config,
  auth: Pick<AuthContext, 'userId' | 'suiteIds'>,
  query: UsageQueryInput,
  now: Date,
): Promise<{ usage: Omit<UsageResponse, 'budget'>; budget: MonthOfUsage['budget'] }> {
  let suiteIds = auth.suiteIds;
  if (query.suite_id !== undefined) {
    // A suite the key may not see reads as absent, like another user's data.
    if (!canSeeSuite(auth, query.suite_id) || !(await suiteExists(db, query.suite_id))) {
      throw ApiError.notFound('No such suite.');
    }
    suiteIds = [query.suite_id];
  }
  const month = (query.period ? parseMonth(query.period) : undefined) ?? calendarMonthOf(now);
  const window = { userId: auth.userId, suiteIds, start: month.start, end: month.end };
  const billing = isBillingEnabled(config);
  const configured = configuredUnitPrices(config.billing);
  const spans = billing ? (await subscriptionsOfUser(db, auth.userId)).map(spanOf) : [UNBILLED_SPAN];
  const graceMs = billing ? config.billing.invoiceGraceMinutes * 60_000 : Infinity;
  const periods = periodsIn(spans, month);
  // Unsent rows of earlier months are carried into the period open now (only with billing on).
  const carriesIn = billing && within(month, now);

  const spanBoundaries = [...new Set(spans.flatMap((span) => [span.startedAt, span.endedAt ?? span.startedAt]).map((at) => at.getTime()))]
    .sort((a, b) => a - b)
    .map((time) => new Date(time));
  const read = await readMonthOfUsage(db, window, { periods, spanBoundaries, pendingOfEarlierMonths: carriesIn, until: now });
  const { periodTokens: naturalTokens, tokensByModel: byModelRows, tokenExceptions, storageHours: storageRows } = read;

  const byModel: Record<string, number> = {};
  let totalTokens = 0;
  for (const row of byModelRows) {
    const key = `${row.provider}/${row.name}`.toLowerCase();
    byModel[key] = (byModel[key] ?? 0) + Number(row.tokens);
    totalTokens += Number(row.tokens);
  }

  const context = { month, periods, spans, now, graceMs };
  const tokens = allocate(tokenExceptions, (row) => row.amount, naturalTokens, { ...context, natural: true });
  const storage = allocate(storageRows, (row) => row.meterValue ?? 0, periods.map(() => 0), { ...context, natural: false });

  const monthByteHours = storageRows.filter((row) => within(month, row.occurredAt)).reduce((sum, row) => sum + row.amount, 0);
  const billableTokens = tokens.perPeriod.reduce((sum, value) => sum + value, 0);
  const billableKbHours = storage.perPeriod.reduce((sum, value) => sum + value, 0);
  const outsideTokens = totalTokens - naturalTokens.reduce((sum, value) => sum + value, 0);

  let tokensMinor = 0;
  let storageMinor = 0;
  periods.forEach((period, index) => {
    tokensMinor += lineAmount(tokens.perPeriod[index] ?? 0, period.span.prices.tokens ?? configured.tokens);
    storageMinor += lineAmount(storage.perPeriod[index] ?? 0, period.span.prices.storage ?? configured.storage);
  });

  const usage = {
    billing_period: { start: month.start.toISOString(), end: month.end.toISOString() },
    tokens: {
      total: totalTokens,
      by_model: byModel,
      billable: billableTokens,
      not_billable: Math.max(0, outsideTokens) + tokens.lost,
    },
    storage: {
      gb_hours: round6(monthByteHours / BYTES_PER_GB),
      current_gb: round6(read.storedBytes / BYTES_PER_GB),
      billable_gb_hours: round6(billableKbHours / KB_PER_GB),
      not_billable_gb_hours: round6(storage.lost / KB_PER_GB),
    },
    sessions_uploaded: read.sessionsUploaded,
    examples_generated: read.examplesGenerated,
    billing: {
      enabled: billing,
      invoice_periods: billing ? periods.map((period) => ({ start: period.start.toISOString(), end: period.end.toISOString() })) : [],
      carried_in: { tokens: tokens.carriedIn, storage_gb_hours: round6(storage.carriedIn / KB_PER_GB) },
      carried_out: { tokens: tokens.carriedOut, storage_gb_hours: round6(storage.carriedOut / KB_PER_GB) },
    },
    estimated_cost: {
      tokens: tokensMinor,
      storage: storageMinor,
      total: tokensMinor + storageMinor,
      currency: config.billing.currency,
    },
  };
  return { usage, budget: read.budget };
}
