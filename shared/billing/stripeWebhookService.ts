import type { Kysely, Transaction } from 'kysely';
import Stripe from 'stripe';
import type { BillingConfig } from '../config.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import {
  findUserIdByCustomer,
  lockUserByCustomer,
  setDefaultPaymentMethod,
  setSubscriptionId,
} from './billingAccountRepository.js';
import { mirrorInvoice } from './invoiceMirror.js';
import { deleteDraftInvoice, upsertMirroredInvoice } from './invoiceRepository.js';
import { verifyStripeEvent } from './stripeEventVerification.js';
import { callStripe } from './stripeOutage.js';

/*
 * Stripe's webhook (POST /v1/webhooks/stripe). The signature is checked on the raw body with the endpoint's
 * signing secret (`stripe.webhooks.constructEvent`, https://docs.stripe.com/webhooks#verify-events): anything
 * that fails is 400 and changes nothing. Stripe delivers at least once and in no particular order
 * (https://docs.stripe.com/webhooks#handle-duplicate-events, #event-ordering), so:
 * - each event id is recorded in stripe_webhook_events in the same transaction as its effects: a redelivery
 *   finds it and does nothing; a failure rolls both back and Stripe's retry does the work;
 * - state written from events carries the event's `created` time, and an older event never overwrites a newer
 *   one (the default payment method; invoices also by status, which only moves forward).
 */

export interface WebhookDependencies {
  db: Kysely<Database>;
  stripe: Stripe | null;
  webhookSecret: string | undefined;
  billing: BillingConfig;
}

export interface WebhookResult {
  received: true;
  duplicate: boolean;
  /** What was done: `applied`, `stale` (an older event than the stored state), or `ignored`. */
  effect: 'applied' | 'stale' | 'ignored';
}

type Effect = WebhookResult['effect'];

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

async function onSetupIntentSucceeded(
  trx: Transaction<Database>,
  deps: WebhookDependencies & { stripe: Stripe },
  event: Stripe.Event,
  intent: Stripe.SetupIntent,
): Promise<Effect> {
  const customerId = idOf(intent.customer);
  const paymentMethodId = idOf(intent.payment_method);
  if (!customerId || !paymentMethodId) return 'ignored';
  const user = await lockUserByCustomer(trx, customerId);
  if (!user) return 'ignored';
  const eventAt = new Date(event.created * 1000);
  if (user.payment_method_event_at && eventAt < user.payment_method_event_at) return 'stale';

  const { stripe } = deps;
  // The confirmed method is attached to the customer already; invoices charge the customer's default one.
  await callStripe(() =>
    stripe.customers.update(customerId, { invoice_settings: { default_payment_method: paymentMethodId } }),
  );
  await setDefaultPaymentMethod(trx, user.id, paymentMethodId, eventAt);

  // The metered prices, once there is a card to charge: Stripe invoices meter usage through a subscription.
  const prices = deps.billing.stripePriceIds;
  if (!user.stripe_subscription_id && prices.tokens && prices.storage) {
    const subscription = await callStripe(() =>
      stripe.subscriptions.create(
        {
          customer: customerId,
          items: [{ price: prices.tokens as string }, { price: prices.storage as string }],
          default_payment_method: paymentMethodId,
          metadata: { tracepipe_user_id: user.id },
        },
        { idempotencyKey: `tracepipe-subscription-${user.id}` },
      ),
    );
    await setSubscriptionId(trx, user.id, subscription.id);
  }
  return 'applied';
}

async function onInvoiceEvent(
  trx: Transaction<Database>,
  deps: WebhookDependencies,
  event: Stripe.Event,
  invoice: Stripe.Invoice,
): Promise<Effect> {
  // invoice.upcoming describes an invoice that does not exist yet (no id): nothing to keep.
  if (!invoice.id) return 'ignored';
  if (event.type === 'invoice.deleted') {
    await deleteDraftInvoice(trx, invoice.id);
    return 'applied';
  }
  const mirrored = mirrorInvoice(invoice, deps.billing.stripePriceIds);
  if (!mirrored.customerId) return 'ignored';
  const userId = await findUserIdByCustomer(trx, mirrored.customerId);
  if (!userId) return 'ignored';
  const written = await upsertMirroredInvoice(trx, userId, mirrored, new Date(event.created * 1000));
  return written ? 'applied' : 'stale';
}

/** Handles one webhook delivery: verify, then apply once. */
export async function handleStripeWebhook(
  deps: WebhookDependencies,
  rawBody: string,
  signature: string | null,
): Promise<WebhookResult> {
  const { stripe, webhookSecret } = deps;
  if (!stripe || !webhookSecret) {
    throw ApiError.unavailable('Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET).', {
      dependency: 'stripe',
    });
  }
  const event = verifyStripeEvent(rawBody, signature, webhookSecret);
  return deps.db.transaction().execute(async (trx) => {
    const first = await trx
      .insertInto('stripe_webhook_events')
      .values({ id: event.id, type: event.type })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!first) return { received: true, duplicate: true, effect: 'ignored' };

    let effect: Effect = 'ignored';
    if (event.type === 'setup_intent.succeeded') {
      effect = await onSetupIntentSucceeded(trx, { ...deps, stripe }, event, event.data.object);
    } else if (event.type.startsWith('invoice.') && event.data.object.object === 'invoice') {
      effect = await onInvoiceEvent(trx, deps, event, event.data.object as Stripe.Invoice);
    }
    return { received: true, duplicate: false, effect };
  });
}
