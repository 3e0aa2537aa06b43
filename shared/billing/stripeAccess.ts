import type Stripe from 'stripe';
import { getConfig } from '../config.js';
import { lazily } from '../runtime/lazily.js';

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
