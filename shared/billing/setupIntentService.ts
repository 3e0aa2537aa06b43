import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { findBillingAccount } from './billingAccountRepository.js';
import { ensureStripeCustomer } from './customers.js';
import type { SetupIntentResponse } from './setupIntentSchemas.js';
import { callStripe } from './stripeOutage.js';

/**
 * A SetupIntent for the user's customer, to save a card for off-session charges (the monthly invoice) without
 * charging now (https://docs.stripe.com/payments/setup-intents). Stripe attaches the confirmed payment method to
 * the customer; the `setup_intent.succeeded` webhook then makes it the default (stripeWebhookService.ts).
 * The customer is created here if registration could not (billing switched on later, or Stripe was down).
 */
export async function createSetupIntent(
  db: Kysely<Database>,
  stripe: Stripe | null,
  userId: string,
): Promise<SetupIntentResponse> {
  if (!stripe) {
    throw ApiError.conflict('Billing is not enabled on this deployment; no payment method is needed.', {
      reason: 'billing_disabled',
    });
  }
  const account = await findBillingAccount(db, userId);
  if (!account) throw ApiError.unauthorized();
  const customer = await ensureStripeCustomer(db, stripe, account);
  const intent = await callStripe(() =>
    stripe.setupIntents.create({
      customer,
      usage: 'off_session',
      automatic_payment_methods: { enabled: true },
      metadata: { tracepipe_user_id: userId },
    }),
  );
  if (!intent.client_secret) throw new Error(`Stripe returned SetupIntent ${intent.id} without a client_secret`);
  return { client_secret: intent.client_secret };
}
