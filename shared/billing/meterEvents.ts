import type Stripe from 'stripe';

/**
 * Usage rows as Stripe Billing Meter events (https://docs.stripe.com/api/billing/meter-event/create):
 * - `identifier` is derived from the row alone, so every retry of a row sends the same one and Stripe, which
 *   rejects a repeated identifier within a rolling window of at least 24 hours, never counts it twice. A row that
 *   Stripe rejected after accepting it (an asynchronous error report) is resent as `<identifier>-r<n>`;
 * - `payload.value` is a whole number sent as a string; tokens are input plus output, storage is KB-hours;
 * - `timestamp` is when the usage happened (the hour's start for storage), in seconds, unless the row's period
 *   had closed before it could be sent: it is then carried into the open period (billingPeriods.ts). Stripe takes
 *   the past 35 days.
 * The meters are created with Stripe's default payload keys (`stripe_customer_id`, `value`) by scripts/stripeSetup.ts.
 */

export type UsageKind = 'tokens' | 'storage';

/** What the sync records for a row that Stripe counts (stripe_resolution). */
export const BILLED_RESOLUTIONS: readonly string[] = ['sent', 'already_in_stripe', 'reconciled_in_stripe', 'reconciled_resent'];

export interface PendingUsage {
  kind: UsageKind;
  id: string;
  userId: string;
  customerId: string;
  /** Tokens, or KB-hours. */
  value: number;
  /** When the usage happened: it decides the row's period. */
  occurredAt: Date;
  /** The event timestamp decided at the first attempt (null: not decided yet). */
  sentTimestamp: Date | null;
  /** When a call that may have reached Stripe was first made; null if never. */
  attemptedAt: Date | null;
  identifier: string;
}

export function tokenUsageIdentifier(exampleId: string): string {
  return `tracepipe-tokens-${exampleId}`;
}

export function storageSampleIdentifier(userId: string, hour: Date): string {
  // e.g. 2026021910 for the hour 10:00-11:00 UTC on 19 February 2026.
  const stamp = hour.toISOString().slice(0, 13).replace(/[-T]/g, '');
  return `tracepipe-storage-${userId}-${stamp}`;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TOKENS = new RegExp(`^(tracepipe-tokens-(${UUID}))(?:-r(\\d+))?$`, 'i');
const STORAGE = new RegExp(`^(tracepipe-storage-(${UUID})-(\\d{4})(\\d{2})(\\d{2})(\\d{2}))(?:-r(\\d+))?$`, 'i');

export type ParsedIdentifier =
  | { kind: 'tokens'; base: string; resend: number; exampleId: string }
  | { kind: 'storage'; base: string; resend: number; userId: string; hour: Date };

/** The row an identifier of ours names (for Stripe's error reports), or undefined for any other identifier. */
export function parseMeterEventIdentifier(identifier: string): ParsedIdentifier | undefined {
  const tokens = TOKENS.exec(identifier);
  if (tokens) {
    return { kind: 'tokens', base: tokens[1] as string, resend: Number(tokens[3] ?? 0), exampleId: (tokens[2] as string).toLowerCase() };
  }
  const storage = STORAGE.exec(identifier);
  if (!storage) return undefined;
  const [, base, userId, year, month, day, hour, resend] = storage as unknown as string[];
  return {
    kind: 'storage',
    base: base as string,
    resend: Number(resend ?? 0),
    userId: (userId as string).toLowerCase(),
    hour: new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour))),
  };
}

export function eventTimestamp(at: Date): number {
  return Math.floor(at.getTime() / 1000);
}

export function meterEventParams(
  usage: PendingUsage,
  timestamp: Date,
  eventNames: { tokens: string; storage: string },
): Stripe.Billing.MeterEventCreateParams {
  return {
    event_name: eventNames[usage.kind],
    identifier: usage.identifier,
    timestamp: eventTimestamp(timestamp),
    payload: { stripe_customer_id: usage.customerId, value: String(usage.value) },
  };
}
