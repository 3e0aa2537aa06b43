import type { Kysely, Transaction } from 'kysely';
import Stripe from 'stripe';
import type { BillingConfig } from '../config.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { lockUserByCustomer, setDefaultPaymentMethod } from './billingAccountRepository.js';
import { holdDraftForGrace, storeInvoice } from './invoiceService.js';
import { applyMeterErrorReport, isThinEventBody, verifyThinEvent } from './meterErrorReports.js';
import { verifyStripeEvent } from './stripeEventVerification.js';
import { callStripe } from './stripeOutage.js';
import { refreshSubscription, subscribeCustomer } from './subscriptions.js';

/*
 * Stripe's webhook (POST /v1/webhooks/stripe). The signature is checked on the raw body with the endpoint's
 * signing secret (`stripe.webhooks.constructEvent`, https://docs.stripe.com/webhooks#verify-events): anything
 * that fails is 400 and changes nothing. Stripe delivers at least once and in no particular order
 * (https://docs.stripe.com/webhooks#handle-duplicate-events, #event-ordering), so:
 * - each event id is recorded in stripe_webhook_events in the same transaction as its effects: a redelivery
 *   finds it and does nothing; a failure rolls both back and Stripe's retry does the work;
 * - subscriptions are read afresh from Stripe on every subscription event (their status goes back and forth:
 *   active, past_due, active); the payment method and invoices carry the event's `created` time, and an older
 *   event never overwrites a newer one (invoices also by status, which only moves forward).
 * The same URL may receive the thin events of an event destination (`v2.core.event`, signed with its own
 * secret): Stripe's asynchronous meter error reports (meterErrorReports.ts).
 *
 * Events handled: setup_intent.succeeded (the card becomes the customer's default; subscribed if not yet),
 * customer.updated (the default payment method), customer.subscription.* (the local copy), invoice.* (the local
 * copy of invoices; a new draft is held for the grace period), v1.billing.meter.error_report_triggered.
 */

export interface WebhookDependencies {
  db: Kysely<Database>;
  stripe: Stripe | null;
  webhookSecret: string | undefined;
  /** The event destination's secret, for thin events (absent: thin events are answered 503). */
  eventsWebhookSecret?: string | undefined;
  billing: BillingConfig;
}

export interface WebhookResult {
  received: true;
  duplicate: boolean;
  /** What was done: `applied`, `stale` (an older event than the stored state), or `ignored`. */
  effect: 'applied' | 'stale' | 'ignored';
}

type Effect = WebhookResult['effect'];
type Handler = (trx: Transaction<Database>, deps: WebhookDependencies & { stripe: Stripe }, event: Stripe.Event) => Promise<Effect>;

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

const onSetupIntentSucceeded: Handler = async (trx, deps, event) => {
  const intent = event.data.object as Stripe.SetupIntent;
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
  // A card to charge: subscribed now (the first card, or a new one after the subscription ended), and a live
  // subscription keeps no card of its own, so this one is what its invoices charge.
  await subscribeCustomer({ db: trx, stripe, billing: deps.billing }, { id: user.id, customerId }, new Date());
  return 'applied';
};

const onCustomerUpdated: Handler = async (trx, _deps, event) => {
  const customer = event.data.object as Stripe.Customer;
  const user = await lockUserByCustomer(trx, customer.id);
  if (!user) return 'ignored';
  const eventAt = new Date(event.created * 1000);
  if (user.payment_method_event_at && eventAt < user.payment_method_event_at) return 'stale';
  const paymentMethodId = idOf(customer.invoice_settings?.default_payment_method);
  if (paymentMethodId === user.default_payment_method_id) return 'ignored';
  await setDefaultPaymentMethod(trx, user.id, paymentMethodId, eventAt);
  return 'applied';
};

const onSubscriptionEvent: Handler = async (trx, deps, event) => {
  const subscription = event.data.object as Stripe.Subscription;
  const stored = await refreshSubscription({ db: trx, stripe: deps.stripe, billing: deps.billing }, subscription.id, new Date());
  return stored ? 'applied' : 'ignored';
};

const onInvoiceEvent: Handler = async (trx, deps, event) => {
  const invoice = event.data.object as Stripe.Invoice;
  const priceDeps = { db: trx, stripe: deps.stripe, billing: deps.billing };
  const effect = await storeInvoice(priceDeps, invoice, new Date(event.created * 1000), {
    deleted: event.type === 'invoice.deleted',
  });
  if (effect === 'applied' && event.type === 'invoice.created') {
    await holdDraftForGrace(priceDeps, invoice, deps.billing.invoiceGraceMinutes, new Date());
  }
  // The owner's webhooks hear of a finalized or paid invoice from storeInvoice, in this transaction (which also
  // records the Stripe event id): a redelivery, or an event older than what is stored, announces nothing.
  return effect;
};

function handlerOf(event: Stripe.Event): Handler | undefined {
  if (event.type === 'setup_intent.succeeded') return onSetupIntentSucceeded;
  if (event.type === 'customer.updated') return onCustomerUpdated;
  const object = (event.data.object as { object?: string }).object;
  if (event.type.startsWith('customer.subscription.') && object === 'subscription') return onSubscriptionEvent;
  // invoice.upcoming describes an invoice that does not exist yet (no id): storeInvoice ignores it.
  if (event.type.startsWith('invoice.') && object === 'invoice') return onInvoiceEvent;
  return undefined;
}

/** Records the event id; false when it was handled before. */
async function firstDelivery(trx: Transaction<Database>, id: string, type: string): Promise<boolean> {
  const first = await trx
    .insertInto('stripe_webhook_events')
    .values({ id, type })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return first !== undefined;
}

/** Handles one webhook delivery: verify, then apply once. */
export async function handleStripeWebhook(
  deps: WebhookDependencies,
  rawBody: string,
  signature: string | null,
): Promise<WebhookResult> {
  const { stripe, webhookSecret } = deps;
  if (stripe && isThinEventBody(rawBody)) {
    if (!deps.eventsWebhookSecret) {
      throw ApiError.unavailable('Stripe thin events are not configured here (STRIPE_EVENTS_WEBHOOK_SECRET).', {
        dependency: 'stripe',
      });
    }
    const notification = verifyThinEvent(stripe, rawBody, signature, deps.eventsWebhookSecret);
    return deps.db.transaction().execute(async (trx) => {
      if (!(await firstDelivery(trx, notification.id, notification.type))) return { received: true, duplicate: true, effect: 'ignored' };
      const effect = await applyMeterErrorReport(trx, notification, new Date());
      return { received: true, duplicate: false, effect };
    });
  }
  if (!stripe || !webhookSecret) {
    throw ApiError.unavailable('Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET).', {
      dependency: 'stripe',
    });
  }
  const event = verifyStripeEvent(rawBody, signature, webhookSecret);
  return deps.db.transaction().execute(async (trx) => {
    if (!(await firstDelivery(trx, event.id, event.type))) return { received: true, duplicate: true, effect: 'ignored' };
    const handler = handlerOf(event);
    const effect = handler ? await handler(trx, { ...deps, stripe }, event) : 'ignored';
    return { received: true, duplicate: false, effect };
  });
}
