/**
 * What one `billing.meterEvents.create` call means for its usage row. Stripe's rules this relies on
 * (https://docs.stripe.com/api/billing/meter-event/create, https://docs.stripe.com/rate-limits,
 * https://docs.stripe.com/error-handling):
 * - 200: accepted.
 * - 400 saying an event with that `identifier` already exists: an earlier call reached Stripe; delivered.
 * - 429: Stripe processed nothing; back off.
 * - 409 (lock timeout, idempotency conflict): nothing processed; try again later.
 * - 401 / 403: the key is wrong or lacks the right; nothing about this row.
 * - 4xx that a change of configuration heals (the meter archived or missing, a timestamp ahead of Stripe's
 *   clock): tried again after a back-off, until it goes through.
 * - other 4xx: this row is wrong for Stripe (bad value, timestamp too old): failed, for a person to fix and
 *   resend (`npm run billing:resend`).
 * - 5xx, a timeout, no connection: Stripe may or may not have taken it; the row is in doubt.
 */
export type MeterEventOutcome =
  | { kind: 'accepted' }
  | { kind: 'already_in_stripe' }
  | { kind: 'rejected'; error: string }
  | { kind: 'retryable'; error: string }
  | { kind: 'rate_limited'; error: string }
  | { kind: 'not_processed'; error: string }
  | { kind: 'configuration'; error: string }
  | { kind: 'unknown'; error: string };

function prop(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** Stripe's duplicate-identifier answer. Its exact code is not documented, so the message counts too. */
export function isDuplicateIdentifier(error: unknown): boolean {
  if (prop(error, 'statusCode') !== 400) return false;
  const code = prop(error, 'code');
  if (code === 'duplicate_meter_event' || code === 'resource_already_exists') return true;
  const message = String(prop(error, 'message') ?? '');
  return /already exists/i.test(message) && (prop(error, 'param') === 'identifier' || /identifier/i.test(message));
}

function describe(error: unknown): string {
  const status = prop(error, 'statusCode');
  const code = prop(error, 'code');
  const message = String(prop(error, 'message') ?? error);
  const prefix = [status, code].filter((part) => part !== undefined && part !== null).join(' ');
  return `${prefix ? `${prefix}: ` : ''}${message}`.slice(0, 500);
}

/** The outcome of a failed call, or null when the error is not Stripe's (a bug of ours: let it surface). */
export function outcomeOfError(error: unknown): MeterEventOutcome | null {
  const status = prop(error, 'statusCode');
  const type = prop(error, 'type');
  if (typeof type !== 'string' || !type.startsWith('Stripe')) return null;
  if (isDuplicateIdentifier(error)) return { kind: 'already_in_stripe' };
  if (type === 'StripeConnectionError' || typeof status !== 'number') return { kind: 'unknown', error: describe(error) };
  if (status === 429) return { kind: 'rate_limited', error: describe(error) };
  if (status === 409) return { kind: 'not_processed', error: describe(error) };
  if (status === 401 || status === 403) return { kind: 'configuration', error: describe(error) };
  if (status >= 400 && status < 500) {
    const code = String(prop(error, 'code') ?? '');
    const healable = HEALABLE_METER_ERRORS.has(code) || (code === 'resource_missing' && prop(error, 'param') === 'event_name');
    return { kind: healable ? 'retryable' : 'rejected', error: describe(error) };
  }
  return { kind: 'unknown', error: describe(error) };
}

/**
 * Stripe's meter error codes (the same in synchronous answers and in asynchronous error reports) whose cause can
 * go away without the row changing: the meter was archived or is missing (re-activate it, run stripe:setup), the
 * event is ahead of Stripe's clock. A customer Stripe does not know is not among them: it needs a person.
 */
export const HEALABLE_METER_ERRORS: ReadonlySet<string> = new Set(['archived_meter', 'no_meter', 'timestamp_in_future']);

const HOUR_MS = 3_600_000;

/** The n-th retry of a healable rejection waits 1, 2, 4 ... hours, at most a day. */
export function retryDelayMs(attempt: number): number {
  return Math.min(24 * HOUR_MS, HOUR_MS * 2 ** Math.max(0, attempt - 1));
}
