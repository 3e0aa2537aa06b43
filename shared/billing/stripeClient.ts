import Stripe from 'stripe';
import type { Config } from '../config.js';

/**
 * The stripe-node client, configured from settings. `STRIPE_API_URL` points it at another endpoint through the
 * SDK's `host`, `port` and `protocol` options (as users of stripe-mock do, and the tests with their fake):
 * https://github.com/stripe/stripe-node#configuration.
 *
 * Two flavours: the general client lets the SDK retry network failures (it then sends an Idempotency-Key of its
 * own, so a retried create never makes two objects); the meter-event client never retries by itself, because the
 * Stripe sync decides what a failed call means for each usage row (and relies on the event `identifier`, not on
 * idempotency keys, whose cached answers would replay a 5xx for a day).
 */
export interface StripeSettings {
  secretKey: string;
  apiUrl: string | undefined;
  timeoutMs: number;
}

export function stripeSettingsOf(config: Config): StripeSettings | null {
  if (!config.stripe) return null;
  return { secretKey: config.stripe.secretKey, apiUrl: config.billing.stripeApiUrl, timeoutMs: config.billing.stripeTimeoutMs };
}

export function createStripeClient(settings: StripeSettings, options: { retries: number }): Stripe {
  const endpoint = settings.apiUrl ? new URL(settings.apiUrl) : undefined;
  return new Stripe(settings.secretKey, {
    maxNetworkRetries: options.retries,
    timeout: settings.timeoutMs,
    telemetry: false,
    appInfo: { name: 'tracepipe-backend' },
    ...(endpoint
      ? {
          host: endpoint.hostname,
          port: endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80),
          protocol: endpoint.protocol === 'http:' ? 'http' : 'https',
        }
      : {}),
  });
}
