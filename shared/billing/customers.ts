import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { Database } from '../db/schema.js';
import { storeStripeCustomerId } from './billingAccountRepository.js';
import { callStripe } from './stripeOutage.js';

export interface CustomerOwner {
  id: string;
  display_name: string;
  email: string | null;
  stripe_customer_id: string | null;
}

/**
 * The user's Stripe customer, created on first need. The create call carries an idempotency key derived from the
 * user id (https://docs.stripe.com/api/idempotent_requests), so concurrent registrations of one user, or a retry
 * after the answer was lost, get the same customer; the id is then stored only if none is stored yet.
 * (Stripe keeps idempotency keys for 24 hours: a retry a day later could make a second customer; the one stored
 * first stays the user's.)
 */
export async function ensureStripeCustomer(db: Kysely<Database>, stripe: Stripe, user: CustomerOwner): Promise<string> {
  if (user.stripe_customer_id) return user.stripe_customer_id;
  const customer = await callStripe(() =>
    stripe.customers.create(
      {
        name: user.display_name,
        ...(user.email ? { email: user.email } : {}),
        metadata: { tracepipe_user_id: user.id },
      },
      { idempotencyKey: `tracepipe-customer-${user.id}` },
    ),
  );
  return storeStripeCustomerId(db, user.id, customer.id);
}
