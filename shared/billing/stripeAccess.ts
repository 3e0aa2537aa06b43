import type Stripe from 'stripe';
import { getConfig } from '../config.js';
import { lazily } from '../runtime/lazily.js';
import type { MeterEventStream } from './meterEventStream.js';

/**
 * The process's Stripe clients (./stripeClient.ts), made on first use: stripe-node is loaded then, not when the
 * functions entry loads (shared/runtime/lazily.ts). Null while billing is off (no STRIPE_SECRET_KEY).
 */
const stripeClient = lazily(() => import('./stripeClient.js'));

async function clientWith(retries: number): Promise<Stripe | null> {
  const { createStripeClient, stripeSettingsOf } = await stripeClient();
  const settings = stripeSettingsOf(getConfig());
  return settings ? createStripeClient(settings, { retries }) : null;
}

/** The general client (the SDK retries network failures with its own idempotency keys). */
export const getStripe = lazily(() => clientWith(2));

/** The client the Stripe sync sends meter events with: no automatic retries (see ./stripeClient.ts). */
export const getMeterEventStripe = lazily(() => clientWith(0));

/**
 * Stripe's v2 meter event stream for the Stripe sync's large backlogs (./meterEventStream.ts): its session is
 * asked for with the meter-event client, its calls made with clients of the session's token (the same endpoint,
 * timeout and no automatic retries). Null while billing is off.
 */
export const getMeterEventStream = lazily(async (): Promise<MeterEventStream | null> => {
  const [{ createStripeClient, stripeSettingsOf }, { MeterEventStream }] = await Promise.all([
    stripeClient(),
    import('./meterEventStream.js'),
  ]);
  const settings = stripeSettingsOf(getConfig());
  if (!settings) return null;
  return new MeterEventStream(createStripeClient(settings, { retries: 0 }), (token) =>
    createStripeClient({ ...settings, secretKey: token }, { retries: 0 }),
  );
});
