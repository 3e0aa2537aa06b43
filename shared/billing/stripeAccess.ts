import type Stripe from 'stripe';
import type { Config } from '../config.js';
import { lazily } from '../runtime/lazily.js';
import type { MeterEventStream } from './meterEventStream.js';

/** A process's Stripe clients (shared/runtime/appDeps.ts holds the one set); each null while billing is off. */
export interface StripeAccess {
  /** The general client (the SDK retries network failures with its own idempotency keys). */
  client(): Promise<Stripe | null>;
  /** The client the Stripe sync sends meter events with: no automatic retries (see ./stripeClient.ts). */
  meterEventClient(): Promise<Stripe | null>;
  /**
   * Stripe's v2 meter event stream for the Stripe sync's large backlogs (./meterEventStream.ts): its session is
   * asked for with the meter-event client, its calls made with clients of the session's token (the same endpoint,
   * timeout and no automatic retries).
   */
  meterEventStream(): Promise<MeterEventStream | null>;
}

/**
 * Stripe clients (./stripeClient.ts) made on first use: stripe-node is loaded then, not when the functions entry
 * loads (shared/runtime/lazily.ts). Null while billing is off (no STRIPE_SECRET_KEY).
 */
export function stripeAccessOf(config: Config): StripeAccess {
  const stripeClient = lazily(() => import('./stripeClient.js'));
  const clientWith = async (retries: number): Promise<Stripe | null> => {
    const { createStripeClient, stripeSettingsOf } = await stripeClient();
    const settings = stripeSettingsOf(config);
    return settings ? createStripeClient(settings, { retries }) : null;
  };
  return {
    client: lazily(() => clientWith(2)),
    meterEventClient: lazily(() => clientWith(0)),
    meterEventStream: lazily(async (): Promise<MeterEventStream | null> => {
      const [{ createStripeClient, stripeSettingsOf }, { MeterEventStream }] = await Promise.all([
        stripeClient(),
        import('./meterEventStream.js'),
      ]);
      const settings = stripeSettingsOf(config);
      if (!settings) return null;
      return new MeterEventStream(createStripeClient(settings, { retries: 0 }), (token) =>
        createStripeClient({ ...settings, secretKey: token }, { retries: 0 }),
      );
    }),
  };
}
