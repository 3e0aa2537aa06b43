import Stripe from 'stripe';
import type { BillingConfig } from '../config.js';
import { shiftDecimal } from './pricing.js';
import type { UsageKind } from './meterEvents.js';

/**
 * What `npm run stripe:setup` makes in a Stripe account, idempotently: for tokens and for storage, a Billing Meter
 * (found by its event name; https://docs.stripe.com/api/billing/meter/create) summing `payload.value` per customer
 * (`payload.stripe_customer_id`), and a monthly metered price on it (https://docs.stripe.com/api/prices/create,
 * `recurring.usage_type=metered` with `recurring.meter`), found by its lookup key. A price whose amount no longer
 * matches the configuration is replaced by a new one that takes over the lookup key (`transfer_lookup_key`);
 * existing subscriptions keep the old price until moved.
 *
 * Units: the token meter counts tokens, so a token costs the price per million / 10^6; the storage meter counts
 * MB-hours, so one costs the price per GB-hour / 10^3. Stripe allows 12 decimals in `unit_amount_decimal`.
 */

export interface MeteredPriceSetup {
  kind: UsageKind;
  meterId: string;
  meterCreated: boolean;
  priceId: string;
  priceCreated: boolean;
  unitAmountDecimal: string;
}

const DISPLAY: Record<UsageKind, { meter: string; product: string; unit: string }> = {
  tokens: { meter: 'Tracepipe tokens', product: 'Tracepipe tokens', unit: 'token' },
  storage: { meter: 'Tracepipe storage (MB-hours)', product: 'Tracepipe storage', unit: 'MB-hour' },
};

export function unitAmountOf(kind: UsageKind, billing: BillingConfig): string {
  return kind === 'tokens' ? shiftDecimal(billing.tokenPricePerMillion, 6) : shiftDecimal(billing.storagePricePerGbHour, 3);
}

export function lookupKeyOf(kind: UsageKind, billing: BillingConfig): string {
  return `${billing.meterEvents[kind]}_${billing.currency}`;
}

function sameAmount(a: string, b: string): boolean {
  // Both are plain decimals; compare without trailing zeros.
  const strip = (value: string) => (value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value);
  return strip(a) === strip(b);
}

export async function setUpMeteredPrice(stripe: Stripe, billing: BillingConfig, kind: UsageKind): Promise<MeteredPriceSetup> {
  const eventName = billing.meterEvents[kind];
  const meters = await stripe.billing.meters.list({ status: 'active', limit: 100 }).autoPagingToArray({ limit: 10_000 });
  let meter = meters.find((candidate) => candidate.event_name === eventName);
  const meterCreated = !meter;
  meter ??= await stripe.billing.meters.create({
    display_name: DISPLAY[kind].meter,
    event_name: eventName,
    default_aggregation: { formula: 'sum' },
    customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
    value_settings: { event_payload_key: 'value' },
  });

  const unitAmountDecimal = unitAmountOf(kind, billing);
  const lookupKey = lookupKeyOf(kind, billing);
  const existing = (await stripe.prices.list({ lookup_keys: [lookupKey], active: true, limit: 10 })).data[0];
  if (
    existing &&
    existing.recurring?.meter === meter.id &&
    existing.currency === billing.currency &&
    existing.unit_amount_decimal !== null &&
    sameAmount(existing.unit_amount_decimal.toString(), unitAmountDecimal)
  ) {
    return { kind, meterId: meter.id, meterCreated, priceId: existing.id, priceCreated: false, unitAmountDecimal };
  }
  const price = await stripe.prices.create({
    currency: billing.currency,
    unit_amount_decimal: Stripe.Decimal.from(unitAmountDecimal),
    billing_scheme: 'per_unit',
    recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
    product_data: { name: DISPLAY[kind].product, unit_label: DISPLAY[kind].unit },
    lookup_key: lookupKey,
    transfer_lookup_key: existing !== undefined,
    metadata: { tracepipe_meter: kind },
  });
  return { kind, meterId: meter.id, meterCreated, priceId: price.id, priceCreated: true, unitAmountDecimal };
}
