import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { Config } from '../config.js';
import type { BillingSubscriptionRow, Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { findBillingAccount } from './billingAccountRepository.js';
import { assertWithinBudget } from './budgetService.js';
import { isBillingEnabled } from './paymentMethodRequirement.js';
import { currentSubscription, hasEnded, subscriptionsOfUser } from './subscriptionRepository.js';
import { subscribeCustomer } from './subscriptions.js';

/*
 * "May this caller incur cost now?": the one rule every operation that costs money checks (routes declare
 * `billable: true`, the MCP tools and A2P skills that create paid work call it). With billing off, yes. With
 * billing on (Stripe configured), only with a payment method on file and a subscription that bills:
 *
 * - `active` or `trialing`: yes;
 * - `past_due` (a payment failed and Stripe retries it): yes for BILLING_PAST_DUE_GRACE_DAYS (7 by default)
 *   from the first time the subscription was seen past_due, then no until it is paid;
 * - anything else (`unpaid`, `canceled`, `incomplete`, `incomplete_expired`, `paused`), or ended: no.
 *
 * A user with a card who was never subscribed (the card was added before the prices were configured, or the
 * subscription call failed) is subscribed here and then allowed; a canceled subscription is not renewed behind
 * the customer's back: adding a card again (POST /v1/billing/setup-intent) subscribes anew.
 * Refusals are 402 `payment_required` with `details.reason`.
 *
 * Then, billing on or off, the budget (budgetService.ts): with a hard limit reached this month, 402
 * `budget_exceeded` with the limit and the usage in `details`.
 */

export interface CostCheckDeps {
  db: Kysely<Database>;
  config: Config;
  stripe: Stripe | null;
  clock(): Date;
}

const DAY_MS = 86_400_000;
const BILLING_STATUSES = new Set(['active', 'trialing']);

export type CostRefusal =
  | { reason: 'payment_method_required' }
  | { reason: 'subscription_inactive'; status: string }
  | { reason: 'past_due_grace_expired'; status: 'past_due'; past_due_since: string };

/** The rule itself, on what is known locally; null when the caller may incur cost. */
export function costRefusalOf(
  account: { default_payment_method_id: string | null },
  subscription: Pick<BillingSubscriptionRow, 'status' | 'ended_at' | 'past_due_since'>,
  now: Date,
  pastDueGraceDays: number,
): CostRefusal | null {
  if (!account.default_payment_method_id) return { reason: 'payment_method_required' };
  if (hasEnded(subscription, now)) return { reason: 'subscription_inactive', status: subscription.status };
  if (BILLING_STATUSES.has(subscription.status)) return null;
  if (subscription.status === 'past_due') {
    const since = subscription.past_due_since ?? now;
    if (now.getTime() < since.getTime() + pastDueGraceDays * DAY_MS) return null;
    return { reason: 'past_due_grace_expired', status: 'past_due', past_due_since: since.toISOString() };
  }
  return { reason: 'subscription_inactive', status: subscription.status };
}

const MESSAGES: Record<CostRefusal['reason'], string> = {
  payment_method_required: 'Add a payment method first (POST /v1/billing/setup-intent): this operation is billed.',
  subscription_inactive:
    'Your subscription is not active, so this operation cannot be billed. Add a payment method again ' +
    '(POST /v1/billing/setup-intent) to subscribe anew.',
  past_due_grace_expired:
    'A payment of your subscription has failed and the grace period is over. Update your payment method ' +
    '(POST /v1/billing/setup-intent); work resumes once the open invoice is paid.',
};

export async function assertMayIncurCost(deps: CostCheckDeps, userId: string): Promise<void> {
  const now = deps.clock();
  await assertPaymentInOrder(deps, userId, now);
  await assertWithinBudget(deps.db, deps.config, userId, now);
}

async function assertPaymentInOrder(deps: CostCheckDeps, userId: string, now: Date): Promise<void> {
  const { db, config, stripe } = deps;
  if (!isBillingEnabled(config) || !stripe) return;
  const account = await findBillingAccount(db, userId);
  if (!account) throw ApiError.unauthorized();
  if (!account.default_payment_method_id) {
    throw ApiError.paymentRequired(MESSAGES.payment_method_required, { reason: 'payment_method_required' });
  }
  let subscription = currentSubscription(await subscriptionsOfUser(db, userId), now);
  if (!subscription && account.stripe_customer_id) {
    subscription = await subscribeCustomer(
      { db, stripe, billing: config.billing },
      { id: userId, customerId: account.stripe_customer_id },
      now,
    );
  }
  const refusal = subscription
    ? costRefusalOf(account, subscription, now, config.billing.pastDueGraceDays)
    : ({ reason: 'subscription_inactive', status: 'none' } as const);
  if (refusal) throw ApiError.paymentRequired(MESSAGES[refusal.reason], refusal);
}
