import { sql, type Kysely, type Transaction } from 'kysely';
import type { BillingSubscriptionRow, Database, NewBillingSubscription } from '../db/schema.js';
import type { SubscriptionSpan } from './billingPeriods.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Writes the local copy of a subscription unless a newer read of it is stored already (synced_at), so that a
 * webhook's fetch and the reconciliation's list cannot put an older state back. past_due_since is kept from the
 * first read that saw the subscription past_due, and cleared by any other status: the grace runs from there.
 */
export async function upsertSubscription(db: Db, row: NewBillingSubscription): Promise<void> {
  await db
    .insertInto('billing_subscriptions')
    .values(row)
    .onConflict((conflict) =>
      conflict.column('stripe_subscription_id').doUpdateSet((eb) => ({
        user_id: eb.ref('excluded.user_id'),
        status: eb.ref('excluded.status'),
        started_at: eb.ref('excluded.started_at'),
        ended_at: eb.ref('excluded.ended_at'),
        cancel_at: eb.ref('excluded.cancel_at'),
        billing_cycle_anchor: eb.ref('excluded.billing_cycle_anchor'),
        current_period_start: eb.ref('excluded.current_period_start'),
        current_period_end: eb.ref('excluded.current_period_end'),
        past_due_since: sql<Date | null>`case when excluded.status = 'past_due'
          then coalesce(case when billing_subscriptions.status = 'past_due' then billing_subscriptions.past_due_since end,
                        excluded.past_due_since)
          end`,
        default_payment_method: eb.ref('excluded.default_payment_method'),
        tokens_price_id: eb.ref('excluded.tokens_price_id'),
        tokens_unit_amount: eb.ref('excluded.tokens_unit_amount'),
        storage_price_id: eb.ref('excluded.storage_price_id'),
        storage_unit_amount: eb.ref('excluded.storage_unit_amount'),
        synced_at: eb.ref('excluded.synced_at'),
      })).where(sql<boolean>`excluded.synced_at >= billing_subscriptions.synced_at`),
    )
    .execute();
}

/** A user's subscriptions, oldest first. */
export async function subscriptionsOfUser(db: Db, userId: string): Promise<BillingSubscriptionRow[]> {
  return db.selectFrom('billing_subscriptions').selectAll().where('user_id', '=', userId).orderBy('started_at').orderBy('created_at').execute();
}

/** The subscription that bills now: the live one, else the latest. */
export function currentSubscription(rows: BillingSubscriptionRow[], now: Date): BillingSubscriptionRow | undefined {
  return rows.find((row) => !hasEnded(row, now)) ?? rows.at(-1);
}

/** What a subscription span is made of (spanOf). */
const SPAN_COLUMNS = ['stripe_subscription_id', 'started_at', 'ended_at', 'tokens_unit_amount', 'storage_unit_amount'] as const;

/**
 * The subscription spans of several users at once (one query for a batch of usage rows), with only the columns a
 * span has: a batch reads thousands, and each timestamp column is parsed from text into a Date.
 */
export async function spansOfUsers(db: Db, userIds: string[]): Promise<Map<string, SubscriptionSpan[]>> {
  const byUser = new Map<string, SubscriptionSpan[]>();
  if (userIds.length === 0) return byUser;
  const rows = await db
    .selectFrom('billing_subscriptions')
    .select(['user_id', ...SPAN_COLUMNS])
    // One array parameter: an IN list of a batch's thousands of users took PostgreSQL ~60 ms to parse and plan.
    .where(sql<boolean>`user_id = any(${[...new Set(userIds)]}::uuid[])`)
    .orderBy('started_at')
    .execute();
  for (const row of rows) {
    const spans = byUser.get(row.user_id);
    if (spans) spans.push(spanOf(row));
    else byUser.set(row.user_id, [spanOf(row)]);
  }
  return byUser;
}

export async function findSubscription(db: Db, subscriptionId: string): Promise<BillingSubscriptionRow | undefined> {
  return db.selectFrom('billing_subscriptions').selectAll().where('stripe_subscription_id', '=', subscriptionId).executeTakeFirst();
}

/** Subscriptions alive at some point of [from, to): the ones whose periods may end in it. */
export async function subscriptionsAliveBetween(db: Db, from: Date, to: Date): Promise<BillingSubscriptionRow[]> {
  return db
    .selectFrom('billing_subscriptions')
    .selectAll()
    .where('started_at', '<', to)
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', from)]))
    .execute();
}

/** Whether the subscription has ended by `now` (Stripe sets ended_at when it is canceled). */
export function hasEnded(row: Pick<BillingSubscriptionRow, 'ended_at'>, now: Date): boolean {
  return row.ended_at !== null && row.ended_at.getTime() <= now.getTime();
}

/** The subscription as billing periods see it, at its own prices. */
export function spanOf(row: Pick<BillingSubscriptionRow, (typeof SPAN_COLUMNS)[number]>): SubscriptionSpan {
  return {
    id: row.stripe_subscription_id,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    prices: {
      ...(row.tokens_unit_amount !== null ? { tokens: row.tokens_unit_amount } : {}),
      ...(row.storage_unit_amount !== null ? { storage: row.storage_unit_amount } : {}),
    },
  };
}

export async function recordPriceMeter(
  db: Db,
  mapping: { price_id: string; meter_id: string; kind: 'tokens' | 'storage' },
): Promise<void> {
  await db.insertInto('stripe_price_meters').values(mapping).onConflict((conflict) => conflict.column('price_id').doNothing()).execute();
}

export async function priceMeterKinds(db: Db, priceIds: string[]): Promise<Map<string, 'tokens' | 'storage'>> {
  if (priceIds.length === 0) return new Map();
  const rows = await db.selectFrom('stripe_price_meters').select(['price_id', 'kind']).where('price_id', 'in', priceIds).execute();
  return new Map(rows.map((row) => [row.price_id, row.kind]));
}
