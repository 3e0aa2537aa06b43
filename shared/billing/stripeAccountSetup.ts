import Stripe from 'stripe';
import type { BillingConfig } from '../config.js';
import { configuredUnitPrices, sameAmount } from './pricing.js';
import type { UsageKind } from './meterEvents.js';

/**
 * What `npm run stripe:setup` makes in a Stripe account, idempotently: for tokens and for storage, a Billing Meter
 * (found by its event name; https://docs.stripe.com/api/billing/meter/create) summing `payload.value` per customer
 * (`payload.stripe_customer_id`), and a monthly metered price on it (https://docs.stripe.com/api/prices/create,
 * `recurring.usage_type=metered` with `recurring.meter`), found by its lookup key.
 *
 * - An existing meter is adopted only if it sums `value` per `stripe_customer_id`: a meter that counts, or keeps
 *   the last value, would bill something else than the usage shown, so setup refuses it and says why. An archived
 *   (inactive) meter with the event name is re-activated, since Stripe keeps the event name for it.
 * - A price whose amount no longer matches the configuration is replaced by a new one that takes over the lookup
 *   key (`transfer_lookup_key`), but only while no live subscription bills it: Stripe bills a price changed in the
 *   middle of a period in two parts (https://docs.stripe.com/billing/subscriptions/usage-based/manage-billing-setup),
 *   which no estimate of ours would match, so setup refuses, names the subscriptions, and changes nothing.
 *
 * Units: the token meter counts tokens, so a token costs the price per million / 10^6; the storage meter counts
 * KB-hours, so one costs the price per GB-hour / 10^6. Stripe allows 12 decimals in `unit_amount_decimal`.
 */

export interface MeteredPriceSetup {
  kind: UsageKind;
  meterId: string;
  meter: 'created' | 'found' | 'reactivated';
  priceId: string;
  priceCreated: boolean;
  unitAmountDecimal: string;
}

export class SetupRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupRefusal';
  }
}

const DISPLAY: Record<UsageKind, { meter: string; product: string; unit: string }> = {
  tokens: { meter: 'Tracepipe tokens', product: 'Tracepipe tokens', unit: 'token' },
  storage: { meter: 'Tracepipe storage (KB-hours)', product: 'Tracepipe storage', unit: 'KB-hour' },
};

const ENDED_STATUSES = new Set(['canceled', 'incomplete_expired']);

export function unitAmountOf(kind: UsageKind, billing: BillingConfig): string {
  return configuredUnitPrices(billing)[kind];
}

export function lookupKeyOf(kind: UsageKind, billing: BillingConfig): string {
  return `${billing.meterEvents[kind]}_${billing.currency}`;
}

async function adoptMeter(stripe: Stripe, billing: BillingConfig, kind: UsageKind): Promise<{ meter: Stripe.Billing.Meter; how: MeteredPriceSetup['meter'] }> {
  const eventName = billing.meterEvents[kind];
  const meters = await stripe.billing.meters.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  const existing = meters.find((candidate) => candidate.event_name === eventName);
  if (!existing) {
    const meter = await stripe.billing.meters.create({
      display_name: DISPLAY[kind].meter,
      event_name: eventName,
      default_aggregation: { formula: 'sum' },
      customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
      value_settings: { event_payload_key: 'value' },
    });
    return { meter, how: 'created' };
  }
  const problems = [
    existing.default_aggregation.formula !== 'sum' ? `aggregates with "${existing.default_aggregation.formula}", not "sum"` : null,
    existing.value_settings.event_payload_key !== 'value' ? `reads its value from "${existing.value_settings.event_payload_key}", not "value"` : null,
    existing.customer_mapping.event_payload_key !== 'stripe_customer_id'
      ? `maps customers by "${existing.customer_mapping.event_payload_key}", not "stripe_customer_id"`
      : null,
  ].filter((problem): problem is string => problem !== null);
  if (problems.length > 0) {
    throw new SetupRefusal(
      `The existing meter ${existing.id} for event name "${eventName}" ${problems.join(' and ')}: it would not bill the ` +
        'usage Tracepipe reports. Meters cannot be changed; set another event name (STRIPE_' +
        `${kind === 'tokens' ? 'TOKENS' : 'STORAGE'}_METER_EVENT) and run setup again.`,
    );
  }
  if (existing.status !== 'active') {
    return { meter: await stripe.billing.meters.reactivate(existing.id), how: 'reactivated' };
  }
  return { meter: existing, how: 'found' };
}

async function liveSubscriptionsOn(stripe: Stripe, priceId: string): Promise<string[]> {
  const subscriptions = await stripe.subscriptions.list({ price: priceId, status: 'all', limit: 100 }).autoPagingToArray({ limit: 10_000 });
  return subscriptions.filter((subscription) => !ENDED_STATUSES.has(subscription.status)).map((subscription) => subscription.id);
}

export async function setUpMeteredPrice(stripe: Stripe, billing: BillingConfig, kind: UsageKind): Promise<MeteredPriceSetup> {
  const { meter, how } = await adoptMeter(stripe, billing, kind);
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
    return { kind, meterId: meter.id, meter: how, priceId: existing.id, priceCreated: false, unitAmountDecimal };
  }
  if (existing) {
    const live = await liveSubscriptionsOn(stripe, existing.id);
    if (live.length > 0) {
      throw new SetupRefusal(
        `The ${kind} price ${existing.id} (${existing.unit_amount_decimal?.toString() ?? '?'} per unit) is billed by ` +
          `${live.length} live subscription(s) (${live.slice(0, 5).join(', ')}${live.length > 5 ? ', ...' : ''}); ` +
          `it is not replaced by ${unitAmountDecimal}: a price changed mid-period is billed in two parts that the ` +
          'usage estimates would not match. Nothing was changed.',
      );
    }
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
  return { kind, meterId: meter.id, meter: how, priceId: price.id, priceCreated: true, unitAmountDecimal };
}
