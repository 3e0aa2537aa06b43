import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { BillingConfig } from '../config.js';
import type { BillingSubscriptionRow, Database, NewBillingSubscription } from '../db/schema.js';
import { findUserIdByCustomer } from './billingAccountRepository.js';
import { callStripe } from './stripeOutage.js';
import type { UsageKind } from './meterEvents.js';
import { resolvePriceKinds } from './priceMeters.js';
import { findSubscription, upsertSubscription } from './subscriptionRepository.js';

/*
 * Subscriptions to the two metered prices, and their local copy.
 *
 * - Every subscription is anchored to the 1st of the month, 00:00 UTC (`billing_cycle_anchor_config`: "the next
 *   occurrence of the day_of_month at the hour, minute, and second UTC",
 *   https://docs.stripe.com/api/subscriptions/create#create_subscription-billing_cycle_anchor_config), with no
 *   proration: its first period runs from its creation to the next 1st, then one calendar month each, the same
 *   months GET /v1/usage shows.
 * - The customer's default payment method (invoice_settings.default_payment_method) is the one source of truth:
 *   subscriptions are made without one of their own, and one found on a live subscription is cleared, since a
 *   subscription's own default takes precedence over the customer's
 *   (https://docs.stripe.com/api/subscriptions/object#subscription_object-default_payment_method).
 * - The local copy is refreshed from Stripe's current state (retrieve, or list) rather than from an event's
 *   snapshot, so events delivered late or out of order never put an older state back (synced_at).
 */

export interface SubscriptionDeps {
  db: Kysely<Database>;
  stripe: Stripe;
  billing: BillingConfig;
}

/** Stripe's statuses of a subscription that has ended for good. */
const ENDED_STATUSES = new Set(['canceled', 'incomplete_expired']);

const MONTH_START_ANCHOR = { day_of_month: 1, hour: 0, minute: 0, second: 0 } as const;

/** Metadata of a subscription ended on a 1st so that an anchored one replaces it from that instant. */
const REANCHOR_KEY = 'tracepipe_reanchor';

/** Whether a billing cycle anchor is a 1st of the month, 00:00:00 UTC. */
function isMonthStartAnchor(anchor: Date): boolean {
  return anchor.getUTCDate() === 1 && anchor.getTime() % 86_400_000 === 0;
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

function toDate(seconds: number | null | undefined): Date | null {
  return typeof seconds === 'number' ? new Date(seconds * 1000) : null;
}

/** The local row for a Stripe subscription, read at `syncedAt`. */
function subscriptionRowOf(
  subscription: Stripe.Subscription,
  userId: string,
  syncedAt: Date,
  kinds: Map<string, UsageKind>,
): NewBillingSubscription {
  const prices: Partial<Record<UsageKind, { id: string; amount: string | null }>> = {};
  for (const item of subscription.items?.data ?? []) {
    const kind = kinds.get(item.price.id);
    if (kind) prices[kind] = { id: item.price.id, amount: item.price.unit_amount_decimal?.toString() ?? null };
  }
  const firstItem = subscription.items?.data?.[0];
  return {
    stripe_subscription_id: subscription.id,
    user_id: userId,
    status: subscription.status,
    started_at: new Date(subscription.start_date * 1000),
    ended_at: toDate(subscription.ended_at),
    cancel_at: toDate(subscription.cancel_at),
    billing_cycle_anchor: new Date(subscription.billing_cycle_anchor * 1000),
    current_period_start: toDate(firstItem?.current_period_start),
    current_period_end: toDate(firstItem?.current_period_end),
    past_due_since: subscription.status === 'past_due' ? syncedAt : null,
    default_payment_method: idOf(subscription.default_payment_method),
    tokens_price_id: prices.tokens?.id ?? null,
    tokens_unit_amount: prices.tokens?.amount ?? null,
    storage_price_id: prices.storage?.id ?? null,
    storage_unit_amount: prices.storage?.amount ?? null,
    synced_at: syncedAt,
  };
}

/** Stores Stripe's state of a subscription, its item prices read by meter. */
async function storeSubscription(
  deps: SubscriptionDeps,
  subscription: Stripe.Subscription,
  userId: string,
  syncedAt: Date,
): Promise<void> {
  const kinds = await resolvePriceKinds(deps, (subscription.items?.data ?? []).map((item) => item.price));
  await upsertSubscription(deps.db, subscriptionRowOf(subscription, userId, syncedAt, kinds));
}

async function userOfSubscription(db: Kysely<Database>, subscription: Stripe.Subscription): Promise<string | undefined> {
  const customer = idOf(subscription.customer);
  return customer ? findUserIdByCustomer(db, customer) : undefined;
}

/** One source of truth for the payment method: a live subscription's own default is removed. */
async function clearOwnPaymentMethod(deps: SubscriptionDeps, subscription: Stripe.Subscription, userId: string, now: Date) {
  if (!subscription.default_payment_method || ENDED_STATUSES.has(subscription.status)) return;
  const cleared = await callStripe(() => deps.stripe.subscriptions.update(subscription.id, { default_payment_method: '' }));
  await storeSubscription(deps, cleared, userId, now);
}

/**
 * Reads a subscription from Stripe into the local copy (each subscription event, the reconciliation). One that
 * ended to be re-anchored is followed by its anchored successor, backdated to the instant it ended.
 */
export async function refreshSubscription(
  deps: SubscriptionDeps,
  subscriptionId: string,
  now: Date,
): Promise<BillingSubscriptionRow | undefined> {
  const subscription = await callStripe(() => deps.stripe.subscriptions.retrieve(subscriptionId));
  const userId = await userOfSubscription(deps.db, subscription);
  if (!userId) return undefined;
  await storeSubscription(deps, subscription, userId, now);
  await clearOwnPaymentMethod(deps, subscription, userId, now);
  const customer = idOf(subscription.customer);
  if (ENDED_STATUSES.has(subscription.status) && subscription.metadata?.[REANCHOR_KEY] === 'true' && subscription.ended_at && customer) {
    await subscribeCustomer(deps, { id: userId, customerId: customer }, now, { backdateTo: new Date(subscription.ended_at * 1000) });
  }
  return findSubscription(deps.db, subscriptionId);
}

/**
 * A live subscription made before anchoring existed (its anchor is not a 1st, 00:00 UTC) is re-anchored: it is set
 * to end at the next 1st, 00:00 UTC (`cancel_at`, no proration; Stripe invoices its last, partial period then), and
 * its successor starts at that very instant (`backdate_start_date`), anchored, so no usage falls between the two.
 * Answers whether it was scheduled now.
 */
export async function scheduleReanchor(deps: SubscriptionDeps, row: BillingSubscriptionRow, now: Date): Promise<boolean> {
  if (row.ended_at !== null || row.cancel_at !== null || isMonthStartAnchor(row.billing_cycle_anchor)) return false;
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) / 1000;
  const updated = await callStripe(() =>
    deps.stripe.subscriptions.update(row.stripe_subscription_id, {
      cancel_at: monthStart,
      proration_behavior: 'none',
      metadata: { [REANCHOR_KEY]: 'true' },
    }),
  );
  await storeSubscription(deps, updated, row.user_id, now);
  return true;
}

/** Stores every subscription of a customer as Stripe has it; answers the live one, if any. */
async function adoptCustomerSubscriptions(
  deps: SubscriptionDeps,
  userId: string,
  customerId: string,
  now: Date,
): Promise<{ live: Stripe.Subscription | undefined; lastEnded: Stripe.Subscription | undefined }> {
  const all = await callStripe(() =>
    deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 }).autoPagingToArray({ limit: 1000 }),
  );
  for (const subscription of all) await storeSubscription(deps, subscription, userId, now);
  const ended = all.filter((subscription) => ENDED_STATUSES.has(subscription.status));
  return {
    live: all.find((subscription) => !ENDED_STATUSES.has(subscription.status)),
    lastEnded: ended.sort((a, b) => b.created - a.created)[0],
  };
}

/**
 * Makes sure the customer has a live subscription to the metered prices: one Stripe has already (made by an
 * earlier version, or by a request whose answer was lost) is adopted, else a new one is made. The idempotency key
 * names the subscription it follows, so a retry makes no second one, and subscribing again after a cancellation
 * is a new request (https://docs.stripe.com/api/idempotent_requests).
 */
export async function subscribeCustomer(
  deps: SubscriptionDeps,
  user: { id: string; customerId: string },
  now: Date,
  options: { backdateTo?: Date } = {},
): Promise<BillingSubscriptionRow> {
  const { live, lastEnded } = await adoptCustomerSubscriptions(deps, user.id, user.customerId, now);
  let subscription = live;
  if (!subscription) {
    const { tokens, storage } = deps.billing.stripePriceIds;
    if (!tokens || !storage) throw new Error('STRIPE_TOKENS_PRICE_ID and STRIPE_STORAGE_PRICE_ID are required to subscribe');
    subscription = await callStripe(() =>
      deps.stripe.subscriptions.create(
        {
          customer: user.customerId,
          items: [{ price: tokens }, { price: storage }],
          billing_cycle_anchor_config: MONTH_START_ANCHOR,
          proration_behavior: 'none',
          ...(options.backdateTo ? { backdate_start_date: Math.floor(options.backdateTo.getTime() / 1000) } : {}),
          metadata: { tracepipe_user_id: user.id },
        },
        { idempotencyKey: `tracepipe-subscription-${user.id}-after-${lastEnded?.id ?? 'none'}` },
      ),
    );
    await storeSubscription(deps, subscription, user.id, now);
  }
  await clearOwnPaymentMethod(deps, subscription, user.id, now);
  const stored = await findSubscription(deps.db, subscription.id);
  if (!stored) throw new Error(`subscription ${subscription.id} was not stored`);
  return stored;
}
