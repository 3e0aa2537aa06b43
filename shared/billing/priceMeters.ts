import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { BillingConfig } from '../config.js';
import type { Database } from '../db/schema.js';
import type { UsageKind } from './meterEvents.js';
import { callStripe } from './stripeOutage.js';
import { priceMeterKinds, recordPriceMeter } from './subscriptionRepository.js';

/**
 * Which usage a price bills, decided by its meter (`recurring.meter`, https://docs.stripe.com/api/prices/object),
 * never by comparing price ids with the configured ones: a price rotated by `stripe:setup`, or one made in the
 * Dashboard on the same meter, still reads as tokens or storage. The meter's event name says which; the answer is
 * kept in stripe_price_meters, so each price costs Stripe two calls once, ever.
 */
export interface PriceMeterDeps {
  db: Kysely<Database>;
  stripe: Stripe;
  billing: BillingConfig;
}

function idOf(value: string | { id: string }): string {
  return typeof value === 'string' ? value : value.id;
}

function kindOfEventName(eventName: string, billing: BillingConfig): UsageKind | undefined {
  if (eventName === billing.meterEvents.tokens) return 'tokens';
  if (eventName === billing.meterEvents.storage) return 'storage';
  return undefined;
}

/** The kind of each price (prices of other meters, or of none, are left out). */
export async function resolvePriceKinds(
  deps: PriceMeterDeps,
  prices: Array<string | Stripe.Price>,
): Promise<Map<string, UsageKind>> {
  const ids = [...new Set(prices.map(idOf))];
  const kinds = await priceMeterKinds(deps.db, ids);
  for (const price of prices) {
    const id = idOf(price);
    if (kinds.has(id)) continue;
    const full = typeof price === 'string' ? await callStripe(() => deps.stripe.prices.retrieve(id)) : price;
    const meterId = full.recurring?.meter;
    if (!meterId) continue;
    const meter = await callStripe(() => deps.stripe.billing.meters.retrieve(meterId));
    const kind = kindOfEventName(meter.event_name, deps.billing);
    if (!kind) continue;
    await recordPriceMeter(deps.db, { price_id: id, meter_id: meterId, kind });
    kinds.set(id, kind);
  }
  return kinds;
}
