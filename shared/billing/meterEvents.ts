import type Stripe from 'stripe';

/**
 * Usage rows as Stripe Billing Meter events (https://docs.stripe.com/api/billing/meter-event/create):
 * - `identifier` is derived from the row alone, so every retry of a row sends the same one and Stripe, which
 *   rejects a repeated identifier within a rolling window of at least 24 hours, never counts it twice;
 * - `payload.value` is a whole number sent as a string; tokens are input plus output, storage is MB-hours;
 * - `timestamp` is when the usage happened (the hour's start for storage), in seconds; Stripe takes the past 35 days.
 * The meters are created with Stripe's default payload keys (`stripe_customer_id`, `value`) by scripts/stripeSetup.ts.
 */

export type UsageKind = 'tokens' | 'storage';

export interface PendingUsage {
  kind: UsageKind;
  id: string;
  userId: string;
  customerId: string;
  /** Tokens, or MB-hours. */
  value: number;
  occurredAt: Date;
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

export function eventTimestamp(occurredAt: Date): number {
  return Math.floor(occurredAt.getTime() / 1000);
}

export function meterEventParams(
  usage: PendingUsage,
  eventNames: { tokens: string; storage: string },
): Stripe.Billing.MeterEventCreateParams {
  return {
    event_name: eventNames[usage.kind],
    identifier: usage.identifier,
    timestamp: eventTimestamp(usage.occurredAt),
    payload: { stripe_customer_id: usage.customerId, value: String(usage.value) },
  };
}
