import type Stripe from 'stripe';
import type { MeterEventOutcome } from './meterEventOutcome.js';
import { meterEventParams, type PendingUsage } from './meterEvents.js';

/*
 * Stripe's high-throughput meter event stream (API v2; https://docs.stripe.com/api/v2/billing-meter-stream and
 * https://docs.stripe.com/changelog/acacia/2024-09-30/usage-based-billing-v2-meter-events-api):
 * - POST /v2/billing/meter_event_session with the secret key gives an `authentication_token`, valid 15 minutes;
 * - POST /v2/billing/meter_event_stream with that token takes up to 100 events a call (up to 10,000 calls a second
 *   in live mode), the same fields as v1 but the timestamp in ISO 8601;
 * - the call is answered before the events are validated: an invalid event comes back later as a meter error
 *   report (the webhook of meterErrorReports.ts), and a repeated `identifier` within 24 hours is dropped without an
 *   error. So a 200 means "taken, never counted twice", which is what the sync marks `sent`;
 * - an expired session is 401 `temporary_session_expired` (stripe-node: TemporarySessionExpiredError).
 */

/** Events per stream call: Stripe's maximum. */
export const STREAM_BATCH_EVENTS = 100;
/** A session is renewed this long before Stripe's expiry, so that no call carries a token about to lapse. */
const SESSION_RENEW_MARGIN_MS = 60_000;

/** A stream client made with a session token (the same host, timeout and retries as the meter-event client). */
export type StreamClientFactory = (authenticationToken: string) => Stripe;

function prop(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function isSessionExpired(error: unknown): boolean {
  return prop(error, 'rawType') === 'temporary_session_expired' || prop(error, 'type') === 'TemporarySessionExpiredError';
}

/**
 * What a failed stream call means for each of its events. v2 errors come as their own classes (stripe-node
 * generateV2Error), so the status decides: 429 stop (nothing processed); 401/403 configuration; another 4xx is
 * about the batch's content, whose events then go one by one over v1 (`fallback`), which says which is wrong; 5xx, a
 * timeout or no answer leave them in doubt, resent later with the same identifiers.
 */
export function streamOutcomeOfError(error: unknown): MeterEventOutcome | 'fallback' | null {
  const status = prop(error, 'statusCode');
  const type = prop(error, 'type');
  const message = String(prop(error, 'message') ?? error).slice(0, 500);
  if (typeof type !== 'string') return null;
  if (type === 'StripeConnectionError' || typeof status !== 'number' || status >= 500) return { kind: 'unknown', error: message };
  if (status === 429) return { kind: 'rate_limited', error: message };
  if (status === 401 || status === 403) return { kind: 'configuration', error: message };
  return 'fallback';
}

export class MeterEventStream {
  readonly #stripe: Stripe;
  readonly #clientFor: StreamClientFactory;
  #session: Promise<{ client: Stripe; renewAt: number }> | undefined;

  constructor(stripe: Stripe, clientFor: StreamClientFactory) {
    this.#stripe = stripe;
    this.#clientFor = clientFor;
  }

  /** One session for every lane; a new one when it nears its end, failed, or Stripe said it ended. */
  async #client(): Promise<Stripe> {
    const pending = this.#session;
    if (pending) {
      const session = await pending.catch(() => undefined);
      if (session && Date.now() < session.renewAt) return session.client;
      if (this.#session !== pending) return this.#client(); // another lane has renewed it meanwhile
    }
    const next = this.#stripe.v2.billing.meterEventSession.create().then((session) => ({
      client: this.#clientFor(session.authentication_token),
      renewAt: Date.parse(String(session.expires_at)) - SESSION_RENEW_MARGIN_MS,
    }));
    this.#session = next;
    return (await next).client;
  }

  /** Sends up to 100 events in one call; an expired session is renewed and the call made once more. */
  async send(entries: Array<{ row: PendingUsage; at: Date }>, eventNames: { tokens: string; storage: string }): Promise<void> {
    const events = entries.map(({ row, at }) => {
      const params = meterEventParams(row, at, eventNames);
      return { ...params, timestamp: new Date((params.timestamp as number) * 1000).toISOString() };
    });
    for (let attempt = 0; ; attempt++) {
      const client = await this.#client();
      try {
        await client.v2.billing.meterEventStream.create({ events });
        return;
      } catch (error) {
        if (attempt > 0 || !isSessionExpired(error)) throw error;
        this.#session = Promise.reject(error); // renewed by the next #client()
        this.#session.catch(() => undefined);
      }
    }
  }
}
