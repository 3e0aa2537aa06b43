/*
 * Billing periods, the one definition the sync, the period close and GET /v1/usage share.
 *
 * Every subscription is anchored to the 1st of the month, 00:00 UTC (billing_cycle_anchor_config, see
 * subscriptions.ts), so its periods are calendar months clipped to its life: the first runs from the moment it
 * was created to the next 1st (the documented first partial period), the last from the 1st before it ended to
 * its end. Stripe bills a meter event in the period that contains its timestamp, and keeps taking events for a
 * period until the period's invoice finalizes (its finalization grace period:
 * https://docs.stripe.com/billing/subscriptions/usage-based/configure-grace-period). So a usage row is billed:
 *
 * - in its own period, when its time falls inside a subscription and reaches Stripe before that period closes;
 * - carried into the period open now (sent with the current time) when its own period closed before it could be
 *   sent (Stripe was off or down past the grace period): nothing paid for goes unbilled;
 * - nowhere when its time falls outside every subscription (usage before the first subscription, or between
 *   two): the documented policy is that such usage is not billed;
 * - nowhere ("stranded") when its period closed and no subscription is open now to carry it into.
 */

export const HOUR_MS = 3_600_000;
/** Usage of a period is sent no later than this before the period's invoice finalizes (clocks, a slow run). */
export const SEND_MARGIN_MS = 10 * 60_000;

export interface Interval {
  start: Date;
  end: Date;
}

export interface UnitPrices {
  /** Minor units per token, as a decimal string (Stripe's unit_amount_decimal). */
  tokens: string;
  /** Minor units per KB-hour, as a decimal string. */
  storage: string;
}

/** A subscription as billing sees it: from when to when it bills, at which prices. */
export interface SubscriptionSpan {
  id: string;
  startedAt: Date;
  /** null while it runs. */
  endedAt: Date | null;
  /** Its items' prices (missing: an item of that kind is not known; the configured price stands in). */
  prices: Partial<UnitPrices>;
}

export function startOfHour(time: Date): Date {
  return new Date(Math.floor(time.getTime() / HOUR_MS) * HOUR_MS);
}

export function startOfMonth(time: Date): Date {
  return new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), 1));
}

function startOfNextMonth(time: Date): Date {
  return new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth() + 1, 1));
}

/** The calendar month (UTC) that contains `time`: [start, end). */
export function calendarMonthOf(time: Date): Interval {
  return { start: startOfMonth(time), end: startOfNextMonth(time) };
}

/** `2026-02` as its month; undefined for anything else. */
export function parseMonth(label: string): Interval | undefined {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(label);
  if (!match) return undefined;
  return calendarMonthOf(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)));
}

function contains(span: SubscriptionSpan, at: Date): boolean {
  return span.startedAt.getTime() <= at.getTime() && (span.endedAt === null || at.getTime() < span.endedAt.getTime());
}

function spanAt(spans: readonly SubscriptionSpan[], at: Date): SubscriptionSpan | undefined {
  return spans.find((span) => contains(span, at));
}

/** The period of `span` that contains `at` (which must lie inside the span). */
export function periodOf(span: SubscriptionSpan, at: Date): Interval {
  const start = Math.max(span.startedAt.getTime(), startOfMonth(at).getTime());
  const monthEnd = startOfNextMonth(at).getTime();
  const end = span.endedAt === null ? monthEnd : Math.min(monthEnd, span.endedAt.getTime());
  return { start: new Date(start), end: new Date(end) };
}

/** Until when usage of a period can still be sent so that its invoice includes it. */
function periodSendDeadline(period: Interval, graceMs: number): Date {
  return new Date(period.end.getTime() + graceMs - SEND_MARGIN_MS);
}

/** The periods (one per subscription, clipped) that fall inside `month`, in time order. */
export function periodsIn(spans: readonly SubscriptionSpan[], month: Interval): Array<Interval & { span: SubscriptionSpan }> {
  const periods: Array<Interval & { span: SubscriptionSpan }> = [];
  for (const span of spans) {
    const start = Math.max(span.startedAt.getTime(), month.start.getTime());
    const end = Math.min(span.endedAt?.getTime() ?? Infinity, month.end.getTime());
    if (start < end) periods.push({ start: new Date(start), end: new Date(end), span });
  }
  return periods.sort((a, b) => a.start.getTime() - b.start.getTime());
}

export type Placement =
  | { kind: 'own'; at: Date; span: SubscriptionSpan; period: Interval }
  | { kind: 'carried'; at: Date; span: SubscriptionSpan; period: Interval }
  | { kind: 'outside' }
  | { kind: 'stranded'; period: Interval };

/** Where usage that happened at `occurredAt`, not yet in Stripe at `now`, will be billed (see the top of the file). */
export function placeUsage(
  spans: readonly SubscriptionSpan[],
  occurredAt: Date,
  now: Date,
  graceMs: number,
): Placement {
  const span = spanAt(spans, occurredAt);
  if (!span) return { kind: 'outside' };
  const period = periodOf(span, occurredAt);
  if (now.getTime() < periodSendDeadline(period, graceMs).getTime()) return { kind: 'own', at: occurredAt, span, period };
  const open = spanAt(spans, now);
  if (!open) return { kind: 'stranded', period };
  // Meter event timestamps are whole seconds.
  const at = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return { kind: 'carried', at, span: open, period: periodOf(open, now) };
}
