import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Stripe from 'stripe';

/** The meters' event names the tests and benchmarks configure (`npm run stripe:setup`'s defaults). */
export const TEST_METER_EVENTS = { tokens: 'tracepipe_tokens', storage: 'tracepipe_storage_kb_hours' };

/**
 * A stand-in for the parts of Stripe's API this project uses, for the tests and the bench: the `stripe` SDK points
 * at it through STRIPE_API_URL (its `host`, `port`, `protocol`). It checks requests as Stripe does (secret key,
 * form encoding, Stripe-Version, required and well-formed parameters), answers in Stripe's shapes and error
 * envelope, records every request, can fail on demand, and keeps the rules billing depends on, as Stripe
 * documents them:
 *
 * - idempotency keys replay the first answer (https://docs.stripe.com/api/idempotent_requests);
 * - customers with a default payment method (invoice_settings.default_payment_method), payment methods attached
 *   to one customer, SetupIntents that a test confirms (`confirmSetupIntent`, as Stripe.js would);
 * - meters that sum (or count, or keep the last value) `payload.value`, active or archived; meter events accepted
 *   within the past 35 days and at most 5 minutes ahead, with whole-number values and an identifier unique for 24
 *   hours (https://docs.stripe.com/api/billing/meter-event/create), and events refused after acceptance on demand,
 *   reported as `v1.billing.meter.error_report_triggered` thin events (fetched from /v2/core/events/{id});
 * - meter event summaries over minute-aligned windows, whole or by hour
 *   (https://docs.stripe.com/api/billing/meter-event-summary/list);
 * - subscriptions to metered prices, anchored by `billing_cycle_anchor_config` ("the next occurrence of the
 *   day_of_month at the hour, minute, and second UTC") or on their start date, whose own default payment method
 *   takes precedence over the customer's; cancellation now or at `cancel_at`;
 * - at each period end a draft invoice with one line per metered price: the meter's sum over the customer's
 *   events timestamped in the period, counted when the invoice finalizes, times the price's unit_amount_decimal,
 *   rounded per line (half up); finalization after the grace period (`automatically_finalizes_at`, default one
 *   hour after creation: https://docs.stripe.com/billing/subscriptions/usage-based/configure-grace-period); events
 *   for a period arriving after its invoice finalized count nowhere; a payment attempt on the payment method in
 *   force, retried three days apart, the subscription past_due meanwhile, then the invoice uncollectible and the
 *   subscription unpaid;
 * - the v2 meter event stream for high throughput (https://docs.stripe.com/api/v2/billing-meter-stream,
 *   changelog https://docs.stripe.com/changelog/acacia/2024-09-30/usage-based-billing-v2-meter-events-api):
 *   POST /v2/billing/meter_event_session (the secret key) answers a session whose `authentication_token` is valid
 *   for 15 minutes; POST /v2/billing/meter_event_stream (JSON, `Authorization: Bearer <that token>`) takes 1 to 100
 *   events `{ event_name, identifier, payload, timestamp (ISO 8601) }` and answers 200 `{}` before validating them:
 *   validation is asynchronous, so an invalid event is refused later (an error report, as above) and a repeated
 *   identifier within 24 hours is dropped silently; an expired token is 401 `temporary_session_expired`;
 * - webhooks, signed as Stripe signs them, delivered one at a time in order to one endpoint (or not at all,
 *   during an outage), for customers, subscriptions, invoices and SetupIntents.
 *
 * Time is the fake's own: real time until a test moves it (`advanceTo`), which also runs what falls due on the way
 * (period ends, finalizations, payment retries, cancellations) and waits for the webhooks it sent.
 * No vitest import: bench/stripeSync.ts runs it too.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  form: Record<string, unknown>;
  idempotencyKey: string | undefined;
  at: number;
}

export interface AcceptedMeterEvent {
  identifier: string;
  eventName: string;
  customer: string;
  value: number;
  timestamp: number;
  /** ms since epoch, by the fake's clock. */
  acceptedAt: number;
}

/** How POST /v1/billing/meter_events behaves until changed. */
export type MeterEventMode =
  | { kind: 'normal' }
  /** Answer every call with this error without processing it (429, 500, ...). */
  | { kind: 'error'; status: number; type?: string; code?: string }
  /** Take the event (it counts), then answer only after `ms` (or never: the client times out or dies). */
  | { kind: 'accept_then_stall'; ms?: number }
  /** Close the connection without an answer: Stripe unreachable. Nothing is processed. */
  | { kind: 'drop_connection' };

interface MeterRecord {
  id: string;
  event_name: string;
  display_name: string;
  status: 'active' | 'inactive';
  formula: string;
  customerKey: string;
  valueKey: string;
  created: number;
}

interface PaymentMethodRecord {
  id: string;
  customer: string;
  declines: boolean;
}

interface SubscriptionItemRecord {
  id: string;
  price: string;
  created: number;
}

interface SubscriptionRecord {
  id: string;
  customer: string;
  status: string;
  created: number;
  start: number;
  anchor: number;
  anchorConfig: Record<string, number> | null;
  periodStart: number;
  periodEnd: number;
  cancelAt: number | null;
  canceledAt: number | null;
  endedAt: number | null;
  defaultPaymentMethod: string | null;
  metadata: Record<string, unknown>;
  items: SubscriptionItemRecord[];
  latestInvoice: string | null;
}

interface InvoiceLineRecord {
  id: string;
  price: string;
  subscriptionItem: string;
  periodStart: number;
  periodEnd: number;
  quantity: number;
  amount: number;
}

export interface InvoicePayment {
  paymentMethod: string | null;
  outcome: 'succeeded' | 'failed';
  at: number;
}

interface InvoiceRecord {
  id: string;
  customer: string;
  subscription: string;
  billingReason: string;
  status: 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';
  created: number;
  periodStart: number;
  periodEnd: number;
  lines: InvoiceLineRecord[];
  total: number;
  autoFinalizeAt: number;
  finalizedAt: number | null;
  paidAt: number | null;
  uncollectibleAt: number | null;
  attemptCount: number;
  nextPaymentAttempt: number | null;
  payments: InvoicePayment[];
}

export interface FakeInvoice {
  id: string;
  customer: string;
  subscription: string;
  status: InvoiceRecord['status'];
  periodStart: number;
  periodEnd: number;
  total: number;
  lines: Array<{ price: string; quantity: number; amount: number }>;
  payments: InvoicePayment[];
  finalizedAt: number | null;
}

export interface DeliveredEvent {
  id: string;
  type: string;
  status: number | 'not_delivered' | 'error';
}

export interface FakeStripe {
  url: string;
  secretKey: string;
  requests: RecordedRequest[];
  /** Meter events Stripe counts (accepted and not refused later). */
  meterEvents: AcceptedMeterEvent[];
  /** Meter events accepted, then refused by asynchronous validation. */
  refusedMeterEvents: AcceptedMeterEvent[];
  customers: Map<string, Record<string, unknown>>;
  meters: Map<string, { id: string; event_name: string; display_name: string; status: string }>;
  setMeterEventMode(mode: MeterEventMode): void;
  /** Answers every meter event call after `ms` (events still count only when answered normally). */
  setLatency(ms: number): void;
  /** Events received on the v2 meter event stream (valid or not, repeated or not). */
  meterEventStreamCount(): number;
  /** Ends every meter event session now: the next stream call is 401 temporary_session_expired. */
  expireMeterEventSessions(): void;
  /** The fake's clock (ms). */
  now(): number;
  /** Moves the clock to `ms` (never back), running what falls due on the way, and waits for the webhooks. */
  advanceTo(ms: number): Promise<void>;
  /** Adds a customer as if created earlier. */
  addCustomer(id?: string): string;
  /** A card attached to the customer; one that `declines` fails every charge. */
  addPaymentMethod(customerId: string, options?: { declines?: boolean }): string;
  /** What Stripe.js does when the customer confirms: the card is attached, the intent succeeds (webhook). */
  confirmSetupIntent(setupIntentId: string, options?: { declines?: boolean }): Promise<string>;
  /** Adds an event as Stripe would have it, e.g. accepted 25 hours ago. */
  seedMeterEvent(event: AcceptedMeterEvent): void;
  /** The next `count` meter events are accepted (200), then refused with `code`, in an error report. */
  refuseMeterEventsLater(options: { count: number; code: string; message: string; samplesPerReport?: number }): void;
  /** Where webhooks go, signed with `secret` (thin events with `thinSecret`). */
  setWebhookEndpoint(endpoint: { url: string; secret: string; thinSecret?: string }): void;
  /** false: an outage longer than Stripe's retries: events happen, none is delivered. */
  setWebhooksDelivered(delivered: boolean): void;
  /** Waits until every webhook sent so far was delivered (or failed). */
  flushWebhooks(): Promise<void>;
  deliveries: DeliveredEvent[];
  /** Stripe's copies of invoices, for assertions. */
  invoices(customerId?: string): FakeInvoice[];
  subscriptionsOf(customerId: string): Array<{ id: string; status: string; defaultPaymentMethod: string | null; anchor: number; start: number }>;
  /** Cancels now, as the Dashboard does (`invoice_now` invoices the usage of the partial period). */
  cancelSubscription(subscriptionId: string, options?: { invoiceNow?: boolean }): Promise<void>;
  /** Sets a subscription's status as Stripe's dunning would (past_due after a failed renewal), with its webhook. */
  setSubscriptionStatus(subscriptionId: string, status: string): Promise<void>;
  /** Marks an open invoice uncollectible, as the Dashboard does. */
  markUncollectible(invoiceId: string): Promise<void>;
  /** Deletes a draft invoice, as the Dashboard does. */
  deleteDraftInvoice(invoiceId: string): Promise<void>;
  /** Calls to one path (and method). */
  calls(method: string, path: string | RegExp): RecordedRequest[];
  close(): Promise<void>;
}

const DAY_MS = 24 * 3_600_000;
const PAYMENT_RETRY_SECONDS = 3 * 24 * 3600;
const MAX_PAYMENT_ATTEMPTS = 4;
const API_VERSION = '2026-10-28.endive';

/** Stripe's form encoding: `a[b][0][c]=v` into nested objects and arrays. */
export function parseStripeForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const parts = rawKey.replace(/\]/g, '').split('[');
    let node: Record<string, unknown> | unknown[] = root;
    parts.forEach((part, index) => {
      const last = index === parts.length - 1;
      const key = Array.isArray(node) ? Number(part || node.length) : part;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[key] = value;
      } else {
        const nextIsIndex = /^\d*$/.test(parts[index + 1] ?? '');
        container[key] ??= nextIsIndex ? [] : {};
        node = container[key] as Record<string, unknown> | unknown[];
      }
    });
  }
  return root;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'request-id': `req_${Math.random().toString(36).slice(2, 14)}`,
  });
  response.end(text);
}

function stripeError(
  response: ServerResponse,
  status: number,
  error: { type: string; message: string; code?: string; param?: string },
): void {
  send(response, status, { error });
}

function list(url: string, data: unknown[]): unknown {
  return { object: 'list', data, has_more: false, url };
}

/** quantity x a decimal string, rounded half up to a whole minor unit, in exact arithmetic. */
export function roundedLineAmount(quantity: number, unitAmountDecimal: string): number {
  const [whole = '0', fraction = ''] = unitAmountDecimal.split('.');
  const digits = BigInt(`${whole}${fraction}`);
  const scale = 10n ** BigInt(fraction.length);
  return Number((BigInt(quantity) * digits * 2n + scale) / (scale * 2n));
}

/** The same instant a month later (Stripe keeps the day, or the month's last day). */
function addMonth(seconds: number): number {
  const date = new Date(seconds * 1000);
  const day = date.getUTCDate();
  const next = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()));
  const lastDay = new Date(Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 0)).getUTCDate();
  next.setUTCDate(Math.min(day, lastDay));
  return Math.floor(next.getTime() / 1000);
}

/** The next occurrence, strictly after `after`, of day_of_month at hour:minute:second UTC. */
function nextAnchor(after: number, config: Record<string, number>): number {
  const start = new Date(after * 1000);
  for (let months = 0; months < 14; months++) {
    const year = start.getUTCFullYear();
    const month = start.getUTCMonth() + months;
    const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const candidate = Date.UTC(year, month, Math.min(config.day_of_month ?? 1, lastDay), config.hour ?? 0, config.minute ?? 0, config.second ?? 0) / 1000;
    if (candidate > after) return candidate;
  }
  throw new Error('no anchor');
}

export async function startFakeStripe(options: { secretKey?: string; meters?: Array<{ eventName: string }> } = {}): Promise<FakeStripe> {
  const secretKey = options.secretKey ?? 'sk_test_fake_0123456789';
  const requests: RecordedRequest[] = [];
  const meterEvents: AcceptedMeterEvent[] = [];
  const refusedMeterEvents: AcceptedMeterEvent[] = [];
  const byIdentifier = new Map<string, AcceptedMeterEvent>();
  const customers = new Map<string, Record<string, unknown>>();
  const meterRecords = new Map<string, MeterRecord>();
  const meters = new Map<string, { id: string; event_name: string; display_name: string; status: string }>();
  const paymentMethods = new Map<string, PaymentMethodRecord>();
  const setupIntents = new Map<string, Record<string, unknown>>();
  const products = new Map<string, Record<string, unknown>>();
  const prices = new Map<string, Record<string, unknown>>();
  const subscriptions = new Map<string, SubscriptionRecord>();
  const invoices = new Map<string, InvoiceRecord>();
  const deletedInvoices = new Set<string>();
  const thinEvents = new Map<string, Record<string, unknown>>();
  const idempotent = new Map<string, { status: number; body: unknown; form: string }>();
  const deliveries: DeliveredEvent[] = [];
  const sockets = new Set<Socket>();
  let mode: MeterEventMode = { kind: 'normal' };
  let latencyMs = 0;
  let counter = 0;
  let frozenAt: number | null = null;
  let endpoint: { url: string; secret: string; thinSecret?: string } | null = null;
  let webhooksDelivered = true;
  let deliveryChain: Promise<void> = Promise.resolve();
  let refusal: { remaining: number; code: string; message: string; samplesPerReport: number; batch: AcceptedMeterEvent[] } | null = null;
  const nextId = (prefix: string) => `${prefix}_fake${(++counter).toString().padStart(8, '0')}`;
  const now = () => frozenAt ?? Date.now();
  const nowSeconds = () => Math.floor(now() / 1000);

  const syncMeterView = (meter: MeterRecord) =>
    meters.set(meter.id, { id: meter.id, event_name: meter.event_name, display_name: meter.display_name, status: meter.status });
  const addMeter = (fields: Omit<MeterRecord, 'id' | 'created'>) => {
    const meter: MeterRecord = { id: nextId('mtr'), created: nowSeconds(), ...fields };
    meterRecords.set(meter.id, meter);
    syncMeterView(meter);
    return meter;
  };
  for (const meter of options.meters ?? []) {
    addMeter({ event_name: meter.eventName, display_name: meter.eventName, status: 'active', formula: 'sum', customerKey: 'stripe_customer_id', valueKey: 'value' });
  }

  const addCustomer = (id = nextId('cus')) => {
    customers.set(id, { id, object: 'customer', created: nowSeconds(), metadata: {}, invoice_settings: { default_payment_method: null } });
    return id;
  };

  /* ---- webhooks ---------------------------------------------------------------------------------------- */

  function deliver(body: Record<string, unknown>, thin: boolean): void {
    const payload = JSON.stringify(body);
    const id = String(body.id);
    const type = String(body.type);
    deliveryChain = deliveryChain.then(async () => {
      const target = endpoint;
      if (!target || !webhooksDelivered) {
        deliveries.push({ id, type, status: 'not_delivered' });
        return;
      }
      const secret = thin ? target.thinSecret : target.secret;
      if (!secret) {
        deliveries.push({ id, type, status: 'not_delivered' });
        return;
      }
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret }) },
          body: payload,
        });
        await response.arrayBuffer();
        deliveries.push({ id, type, status: response.status });
      } catch {
        deliveries.push({ id, type, status: 'error' });
      }
    });
  }

  function emit(type: string, object: unknown): void {
    deliver(
      {
        id: nextId('evt'),
        object: 'event',
        api_version: API_VERSION,
        created: nowSeconds(),
        type,
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        data: { object },
      },
      false,
    );
  }

  /* ---- objects in Stripe's shapes ---------------------------------------------------------------------- */

  function meterObject(meter: MeterRecord) {
    return {
      id: meter.id,
      object: 'billing.meter',
      created: meter.created,
      event_name: meter.event_name,
      display_name: meter.display_name,
      status: meter.status,
      customer_mapping: { event_payload_key: meter.customerKey, type: 'by_id' },
      default_aggregation: { formula: meter.formula },
      value_settings: { event_payload_key: meter.valueKey },
      livemode: false,
    };
  }

  function subscriptionObject(subscription: SubscriptionRecord) {
    return {
      id: subscription.id,
      object: 'subscription',
      customer: subscription.customer,
      status: subscription.status,
      created: subscription.created,
      start_date: subscription.start,
      billing_cycle_anchor: subscription.anchor,
      billing_cycle_anchor_config: subscription.anchorConfig,
      cancel_at: subscription.cancelAt,
      cancel_at_period_end: false,
      canceled_at: subscription.canceledAt,
      ended_at: subscription.endedAt,
      default_payment_method: subscription.defaultPaymentMethod,
      latest_invoice: subscription.latestInvoice,
      metadata: subscription.metadata,
      livemode: false,
      items: list(
        '/v1/subscription_items',
        subscription.items.map((item) => ({
          id: item.id,
          object: 'subscription_item',
          created: item.created,
          subscription: subscription.id,
          price: prices.get(item.price),
          quantity: null,
          current_period_start: subscription.periodStart,
          current_period_end: subscription.periodEnd,
        })),
      ),
    };
  }

  function invoiceObject(invoice: InvoiceRecord) {
    return {
      id: invoice.id,
      object: 'invoice',
      customer: invoice.customer,
      currency: 'usd',
      status: invoice.status,
      billing_reason: invoice.billingReason,
      created: invoice.created,
      // For subscription invoices Stripe's own period fields describe the invoice items of the previous period.
      period_start: invoice.periodEnd,
      period_end: invoice.periodEnd,
      total: invoice.total,
      amount_due: invoice.total,
      auto_advance: invoice.status === 'draft',
      automatically_finalizes_at: invoice.status === 'draft' ? invoice.autoFinalizeAt : null,
      attempt_count: invoice.attemptCount,
      next_payment_attempt: invoice.nextPaymentAttempt,
      hosted_invoice_url: `https://invoice.stripe.test/${invoice.id}`,
      parent: { type: 'subscription_details', subscription_details: { subscription: invoice.subscription, metadata: {} }, quote_details: null },
      status_transitions: {
        finalized_at: invoice.finalizedAt,
        paid_at: invoice.paidAt,
        marked_uncollectible_at: invoice.uncollectibleAt,
        voided_at: null,
      },
      livemode: false,
      lines: {
        object: 'list',
        has_more: false,
        url: `/v1/invoices/${invoice.id}/lines`,
        data: invoice.lines.map((line) => lineObject(invoice, line)),
      },
    };
  }

  function lineObject(invoice: InvoiceRecord, line: InvoiceLineRecord) {
    const price = prices.get(line.price) ?? {};
    return {
      id: line.id,
      object: 'line_item',
      invoice: invoice.id,
      amount: line.amount,
      currency: 'usd',
      period: { start: line.periodStart, end: line.periodEnd },
      pricing: { type: 'price_details', price_details: { price: line.price, product: price.product ?? null }, unit_amount_decimal: price.unit_amount_decimal ?? null },
      quantity: line.quantity,
      quantity_decimal: String(line.quantity),
      parent: {
        type: 'subscription_item_details',
        subscription_item_details: { subscription_item: line.subscriptionItem, subscription: invoice.subscription, proration: false },
      },
      livemode: false,
    };
  }

  /* ---- billing: meter usage, invoices, payments, subscriptions ----------------------------------------- */

  function meterUsage(meterId: string, customer: string, from: number, to: number): number {
    const meter = meterRecords.get(meterId);
    if (!meter) return 0;
    const events = meterEvents.filter((e) => e.eventName === meter.event_name && e.customer === customer && e.timestamp >= from && e.timestamp < to);
    if (meter.formula === 'count') return events.length;
    if (meter.formula === 'last') return events.sort((a, b) => a.timestamp - b.timestamp).at(-1)?.value ?? 0;
    return events.reduce((sum, e) => sum + e.value, 0);
  }

  function linesFor(subscription: SubscriptionRecord, from: number, to: number): InvoiceLineRecord[] {
    return subscription.items.map((item) => {
      const price = prices.get(item.price) as Record<string, unknown>;
      const meter = (price.recurring as Record<string, unknown> | undefined)?.meter as string | undefined;
      const quantity = meter ? meterUsage(meter, subscription.customer, Math.max(from, item.created), to) : 0;
      return {
        id: nextId('il'),
        price: item.price,
        subscriptionItem: item.id,
        periodStart: from,
        periodEnd: to,
        quantity,
        amount: roundedLineAmount(quantity, String(price.unit_amount_decimal ?? '0')),
      };
    });
  }

  function createInvoice(subscription: SubscriptionRecord, from: number, to: number, reason: string): InvoiceRecord {
    const invoice: InvoiceRecord = {
      id: nextId('in'),
      customer: subscription.customer,
      subscription: subscription.id,
      billingReason: reason,
      status: 'draft',
      created: nowSeconds(),
      periodStart: from,
      periodEnd: to,
      lines: linesFor(subscription, from, to),
      total: 0,
      autoFinalizeAt: nowSeconds() + 3600,
      finalizedAt: null,
      paidAt: null,
      uncollectibleAt: null,
      attemptCount: 0,
      nextPaymentAttempt: null,
      payments: [],
    };
    invoice.total = invoice.lines.reduce((sum, line) => sum + line.amount, 0);
    invoices.set(invoice.id, invoice);
    subscription.latestInvoice = invoice.id;
    emit('invoice.created', invoiceObject(invoice));
    return invoice;
  }

  function setSubscriptionStatus(subscription: SubscriptionRecord, status: string): void {
    if (subscription.status === status) return;
    subscription.status = status;
    emit('customer.subscription.updated', subscriptionObject(subscription));
  }

  function attemptPayment(invoice: InvoiceRecord): void {
    const subscription = subscriptions.get(invoice.subscription);
    const customer = customers.get(invoice.customer) as Record<string, unknown>;
    const paymentMethod =
      subscription?.defaultPaymentMethod ??
      ((customer.invoice_settings as Record<string, unknown>).default_payment_method as string | null) ??
      null;
    const card = paymentMethod ? paymentMethods.get(paymentMethod) : undefined;
    invoice.attemptCount++;
    if (card && !card.declines) {
      invoice.payments.push({ paymentMethod, outcome: 'succeeded', at: nowSeconds() });
      invoice.status = 'paid';
      invoice.paidAt = nowSeconds();
      invoice.nextPaymentAttempt = null;
      emit('invoice.payment_succeeded', invoiceObject(invoice));
      emit('invoice.paid', invoiceObject(invoice));
      if (subscription && subscription.status === 'past_due') setSubscriptionStatus(subscription, 'active');
      return;
    }
    invoice.payments.push({ paymentMethod, outcome: 'failed', at: nowSeconds() });
    if (invoice.attemptCount < MAX_PAYMENT_ATTEMPTS) {
      invoice.nextPaymentAttempt = nowSeconds() + PAYMENT_RETRY_SECONDS;
      emit('invoice.payment_failed', invoiceObject(invoice));
      if (subscription && subscription.status === 'active') setSubscriptionStatus(subscription, 'past_due');
      return;
    }
    invoice.nextPaymentAttempt = null;
    emit('invoice.payment_failed', invoiceObject(invoice));
    invoice.status = 'uncollectible';
    invoice.uncollectibleAt = nowSeconds();
    emit('invoice.marked_uncollectible', invoiceObject(invoice));
    if (subscription && subscription.status !== 'canceled') setSubscriptionStatus(subscription, 'unpaid');
  }

  function finalize(invoice: InvoiceRecord): void {
    const subscription = subscriptions.get(invoice.subscription) as SubscriptionRecord;
    // Stripe counts the period's usage as it stands when the invoice finalizes.
    invoice.lines = linesFor(subscription, invoice.periodStart, invoice.periodEnd);
    invoice.total = invoice.lines.reduce((sum, line) => sum + line.amount, 0);
    invoice.status = 'open';
    invoice.finalizedAt = nowSeconds();
    emit('invoice.finalized', invoiceObject(invoice));
    if (invoice.total === 0) {
      invoice.status = 'paid';
      invoice.paidAt = nowSeconds();
      emit('invoice.paid', invoiceObject(invoice));
    } else {
      attemptPayment(invoice);
    }
  }

  function endSubscription(subscription: SubscriptionRecord, at: number, invoiceNow: boolean): void {
    if (invoiceNow && at > subscription.periodStart) createInvoice(subscription, subscription.periodStart, at, 'subscription_cycle');
    subscription.status = 'canceled';
    subscription.endedAt = at;
    subscription.canceledAt ??= at;
    subscription.periodEnd = at;
    emit('customer.subscription.deleted', subscriptionObject(subscription));
  }

  /** The earliest transition due at or before `until`, or null. */
  function nextTransition(until: number): { at: number; run: () => void } | null {
    let best: { at: number; run: () => void } | null = null;
    const consider = (at: number, run: () => void) => {
      if (at <= until && (!best || at < best.at)) best = { at, run };
    };
    for (const subscription of subscriptions.values()) {
      if (subscription.status === 'canceled' || subscription.status === 'incomplete_expired') continue;
      if (subscription.cancelAt !== null && subscription.cancelAt <= subscription.periodEnd) {
        const at = subscription.cancelAt;
        consider(at, () => endSubscription(subscription, at, true));
      } else {
        consider(subscription.periodEnd, () => {
          createInvoice(subscription, subscription.periodStart, subscription.periodEnd, 'subscription_cycle');
          subscription.periodStart = subscription.periodEnd;
          subscription.periodEnd = addMonth(subscription.periodEnd);
          emit('customer.subscription.updated', subscriptionObject(subscription));
        });
      }
    }
    for (const invoice of invoices.values()) {
      if (invoice.status === 'draft') consider(invoice.autoFinalizeAt, () => finalize(invoice));
      if (invoice.status === 'open' && invoice.nextPaymentAttempt !== null) consider(invoice.nextPaymentAttempt, () => attemptPayment(invoice));
    }
    return best;
  }

  async function advanceTo(ms: number): Promise<void> {
    reportRefusals();
    const target = Math.floor(ms / 1000);
    for (;;) {
      const due = nextTransition(target);
      if (!due) break;
      frozenAt = Math.max(now(), due.at * 1000);
      due.run();
      await deliveryChain;
    }
    frozenAt = Math.max(now(), ms);
    await deliveryChain;
  }

  /* ---- meter events and their asynchronous refusal ----------------------------------------------------- */

  function reportRefusals(): void {
    if (!refusal || refusal.batch.length === 0) return;
    const batch = refusal.batch;
    refusal.batch = [];
    const meter = [...meterRecords.values()].find((m) => m.event_name === batch[0]?.eventName);
    const id = `evt_thin_${randomUUID().replace(/-/g, '')}`;
    const created = new Date(now()).toISOString();
    const meterId = meter?.id ?? 'mtr_unknown';
    // The thin payload names the event; its data comes with GET /v2/core/events/{id}.
    const notification = {
      id,
      object: 'v2.core.event',
      type: 'v1.billing.meter.error_report_triggered',
      created,
      livemode: false,
      context: null,
      reason: null,
      related_object: { id: meterId, type: 'billing.meter', url: `/v1/billing/meters/${meterId}` },
    };
    const { code, message, samplesPerReport } = refusal;
    thinEvents.set(id, {
      ...notification,
      data: {
        developer_message_summary: `There ${batch.length === 1 ? 'is 1 invalid event' : `are ${batch.length} invalid events`}`,
        reason: {
          error_count: batch.length,
          error_types: [
            {
              code,
              error_count: batch.length,
              sample_errors: batch.slice(0, samplesPerReport).map((event) => ({ error_message: message, request: { identifier: event.identifier } })),
            },
          ],
        },
        validation_start: new Date(Math.min(...batch.map((e) => e.acceptedAt))).toISOString(),
        validation_end: created,
      },
    });
    deliver(notification, true);
  }

  type MeterEventProblem = { message: string; param: string; code: string };

  function meterEvent(form: Record<string, unknown>, response: ServerResponse): AcceptedMeterEvent | null {
    const checked = checkMeterEvent(form, Number(form.timestamp ?? nowSeconds()), form.timestamp === undefined || /^-?\d+$/.test(String(form.timestamp)));
    if ('problem' in checked) {
      stripeError(response, 400, { type: 'invalid_request_error', ...checked.problem });
      return null;
    }
    if (checked.duplicate) {
      stripeError(response, 400, {
        type: 'invalid_request_error',
        message: `An event already exists with identifier ${checked.event.identifier}.`,
        param: 'identifier',
        code: 'duplicate_meter_event',
      });
      return null;
    }
    return acceptMeterEvent(checked.event);
  }

  /** The rules of both APIs; `timestamp` is in seconds, `wellFormedTime` false when it was not a valid time. */
  function checkMeterEvent(
    form: Record<string, unknown>,
    timestamp: number,
    wellFormedTime: boolean,
  ): { problem: MeterEventProblem } | { event: AcceptedMeterEvent; duplicate: boolean } {
    const fail = (message: string, param: string, code = 'parameter_invalid') => ({ problem: { message, param, code } });
    const eventName = form.event_name;
    const payload = form.payload as Record<string, unknown> | undefined;
    if (typeof eventName !== 'string' || !eventName) return fail('Missing required param: event_name.', 'event_name', 'parameter_missing');
    if (!payload || typeof payload !== 'object') return fail('Missing required param: payload.', 'payload', 'parameter_missing');
    if (![...meterRecords.values()].some((meter) => meter.event_name === eventName && meter.status === 'active')) {
      return fail(`No active meter found for event_name ${eventName}.`, 'event_name', 'resource_missing');
    }
    const customer = payload.stripe_customer_id;
    if (typeof customer !== 'string' || !customers.has(customer)) {
      return fail(`No such customer: '${String(customer)}'`, 'payload[stripe_customer_id]', 'meter_event_customer_not_found');
    }
    const value = payload.value;
    if (typeof value !== 'string' || !/^\d+$/.test(value)) {
      return fail('The value must be a whole number.', 'payload[value]', 'meter_event_invalid_value');
    }
    const identifier = typeof form.identifier === 'string' ? form.identifier : nextId('mevt');
    if (identifier.length > 100) return fail('identifier is too long (max 100).', 'identifier');
    if (!wellFormedTime || !Number.isInteger(timestamp)) return fail('Invalid timestamp.', 'timestamp');
    if (timestamp * 1000 < now() - 35 * DAY_MS) {
      return fail('Timestamp must be within the past 35 days.', 'timestamp', 'timestamp_too_far_in_past');
    }
    if (timestamp * 1000 > now() + 5 * 60_000) {
      return fail('Timestamp must not be more than 5 minutes in the future.', 'timestamp', 'timestamp_in_future');
    }
    const previous = byIdentifier.get(identifier);
    const event: AcceptedMeterEvent = { identifier, eventName, customer, value: Number(value), timestamp, acceptedAt: now() };
    return { event, duplicate: previous !== undefined && now() - previous.acceptedAt < DAY_MS };
  }

  function acceptMeterEvent(event: AcceptedMeterEvent): AcceptedMeterEvent {
    byIdentifier.set(event.identifier, event);
    if (refusal && refusal.remaining > 0) {
      refusal.remaining--;
      refusedMeterEvents.push(event);
      refusal.batch.push(event);
      if (refusal.remaining === 0) reportRefusals();
    } else {
      meterEvents.push(event);
    }
    return event;
  }

  /* ---- the v2 meter event stream ------------------------------------------------------------------------ */

  const SESSION_MS = 15 * 60_000;
  const sessions = new Map<string, number>();
  let streamEvents = 0;

  const v2Error = (response: ServerResponse, status: number, type: string, message: string, code?: string) =>
    send(response, status, { error: { type, message, ...(code ? { code } : {}) } });

  /** v2 bodies are JSON; errors are `{ error: { type, code, message } }` (https://docs.stripe.com/api-v2-overview). */
  async function meterEventStreamRoute(request: IncomingMessage, response: ServerResponse, socket: Socket, path: string, text: string): Promise<void> {
    if (request.method !== 'POST') return v2Error(response, 405, 'invalid_request_error', 'Only POST.');
    if (!request.headers['stripe-version']) return v2Error(response, 400, 'invalid_request_error', 'Missing Stripe-Version header.');
    if (text && !String(request.headers['content-type']).startsWith('application/json')) {
      return v2Error(response, 400, 'invalid_request_error', 'Invalid request: v2 bodies must be application/json.');
    }
    const bearer = /^Bearer (\S+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    if (path === '/v2/billing/meter_event_session') {
      if (bearer !== secretKey) return v2Error(response, 401, 'invalid_request_error', 'Invalid API Key provided.');
      const token = `mes_auth_${randomUUID().replace(/-/g, '')}`;
      const expiresAt = now() + SESSION_MS;
      sessions.set(token, expiresAt);
      return send(response, 200, {
        id: nextId('mes'),
        object: 'v2.billing.meter_event_session',
        authentication_token: token,
        created: new Date(now()).toISOString(),
        expires_at: new Date(expiresAt).toISOString(),
        livemode: false,
      });
    }
    const expiresAt = bearer ? sessions.get(bearer) : undefined;
    if (expiresAt === undefined) return v2Error(response, 401, 'invalid_request_error', 'Invalid meter event session token.');
    if (now() >= expiresAt) {
      return v2Error(response, 401, 'temporary_session_expired', 'The meter event session has expired; create a new one.', 'billing_meter_event_session_expired');
    }
    let body: { events?: unknown };
    try {
      body = JSON.parse(text || '{}') as { events?: unknown };
    } catch {
      return v2Error(response, 400, 'invalid_request_error', 'The body is not JSON.');
    }
    const events = body.events;
    if (!Array.isArray(events) || events.length === 0 || events.length > 100) {
      return v2Error(response, 400, 'invalid_request_error', 'events must be a list of 1 to 100 meter events.', 'invalid_events');
    }
    const current = mode;
    if (current.kind === 'drop_connection') {
      socket.destroy();
      return;
    }
    if (current.kind === 'error') {
      return v2Error(response, current.status, current.status === 429 ? 'rate_limit' : 'api_error', current.status === 429 ? 'Too many requests.' : 'An unknown error occurred.', current.code);
    }
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    // Accepted as a whole, then validated one by one, asynchronously: nothing below changes the answer.
    const refused: Array<{ event: AcceptedMeterEvent; problem: MeterEventProblem }> = [];
    for (const raw of events as Array<Record<string, unknown>>) {
      streamEvents++;
      const time = typeof raw.timestamp === 'string' ? Date.parse(raw.timestamp) : now();
      const checked = checkMeterEvent(raw, Math.floor(time / 1000), Number.isFinite(time));
      if ('problem' in checked) {
        refused.push({
          event: { identifier: String(raw.identifier ?? ''), eventName: String(raw.event_name ?? ''), customer: String((raw.payload as Record<string, unknown> | undefined)?.stripe_customer_id ?? ''), value: 0, timestamp: Math.floor(time / 1000), acceptedAt: now() },
          problem: checked.problem,
        });
      } else if (!checked.duplicate) {
        acceptMeterEvent(checked.event);
      }
    }
    if (current.kind === 'accept_then_stall') {
      if (current.ms === undefined) return;
      await new Promise((resolve) => setTimeout(resolve, current.ms));
      if (response.writableEnded || socket.destroyed) return;
    }
    send(response, 200, {});
    for (const { event, problem } of refused) {
      refusedMeterEvents.push(event);
      reportStreamRefusal(event, problem);
    }
  }

  /** An event the stream refused after answering, reported as Stripe reports them (one error report each). */
  function reportStreamRefusal(event: AcceptedMeterEvent, problem: MeterEventProblem): void {
    const saved = refusal;
    refusal = { remaining: 0, code: problem.code, message: problem.message, samplesPerReport: 1, batch: [event] };
    reportRefusals();
    refusal = saved;
  }

  /* ---- the HTTP API ------------------------------------------------------------------------------------ */

  function customerOrError(id: unknown, response: ServerResponse, param = 'customer'): Record<string, unknown> | null {
    const customer = typeof id === 'string' ? customers.get(id) : undefined;
    if (!customer) {
      stripeError(response, 400, { type: 'invalid_request_error', message: `No such customer: '${String(id)}'`, param, code: 'resource_missing' });
      return null;
    }
    return customer;
  }

  function createSubscription(form: Record<string, unknown>, response: ServerResponse): SubscriptionRecord | null {
    const customer = customerOrError(form.customer, response);
    if (!customer) return null;
    const items = (form.items as Array<Record<string, unknown>> | undefined) ?? [];
    if (items.length === 0) {
      stripeError(response, 400, { type: 'invalid_request_error', message: 'Missing required param: items.', param: 'items' });
      return null;
    }
    for (const item of items) {
      const price = prices.get(String(item.price));
      const recurring = price?.recurring as Record<string, unknown> | undefined;
      if (!price || price.active !== true || recurring?.usage_type !== 'metered') {
        stripeError(response, 400, { type: 'invalid_request_error', message: `No such active metered price: '${String(item.price)}'`, param: 'items', code: 'resource_missing' });
        return null;
      }
    }
    // A backdated subscription starts in the past and bills its usage from then (its first period runs from there).
    const created = nowSeconds();
    const start = form.backdate_start_date ? Number(form.backdate_start_date) : created;
    if (start > created) {
      stripeError(response, 400, { type: 'invalid_request_error', message: 'backdate_start_date must be in the past.', param: 'backdate_start_date' });
      return null;
    }
    const config = form.billing_cycle_anchor_config as Record<string, string> | undefined;
    const anchorConfig = config ? Object.fromEntries(Object.entries(config).map(([key, value]) => [key, Number(value)])) : null;
    const anchor = anchorConfig ? nextAnchor(created, anchorConfig) : start;
    const defaultPaymentMethod = typeof form.default_payment_method === 'string' && form.default_payment_method ? form.default_payment_method : null;
    if (defaultPaymentMethod && paymentMethods.get(defaultPaymentMethod)?.customer !== customer.id) {
      stripeError(response, 400, { type: 'invalid_request_error', message: `No such PaymentMethod: '${defaultPaymentMethod}'`, param: 'default_payment_method', code: 'resource_missing' });
      return null;
    }
    const subscription: SubscriptionRecord = {
      id: nextId('sub'),
      customer: customer.id as string,
      status: 'active',
      created,
      start,
      anchor,
      anchorConfig,
      periodStart: start,
      periodEnd: anchor > start ? anchor : addMonth(start),
      cancelAt: form.cancel_at ? Number(form.cancel_at) : null,
      canceledAt: null,
      endedAt: null,
      defaultPaymentMethod,
      metadata: (form.metadata as Record<string, unknown> | undefined) ?? {},
      items: items.map((item) => ({ id: nextId('si'), price: String(item.price), created: start })),
      latestInvoice: null,
    };
    subscriptions.set(subscription.id, subscription);
    emit('customer.subscription.created', subscriptionObject(subscription));
    return subscription;
  }

  async function route(request: IncomingMessage, response: ServerResponse, socket: Socket): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const idempotencyKey = request.headers['idempotency-key'] as string | undefined;
    const query = parseStripeForm(url.search.slice(1));
    if (url.pathname === '/v2/billing/meter_event_session' || url.pathname === '/v2/billing/meter_event_stream') {
      requests.push({ method, path: url.pathname, query, form: {}, idempotencyKey, at: now() });
      return meterEventStreamRoute(request, response, socket, url.pathname, text);
    }
    const form = method === 'GET' ? {} : parseStripeForm(text);
    requests.push({ method, path: url.pathname, query, form, idempotencyKey, at: now() });

    if (request.headers.authorization !== `Bearer ${secretKey}`) {
      return stripeError(response, 401, { type: 'invalid_request_error', message: 'Invalid API Key provided.' });
    }
    if (!request.headers['stripe-version']) {
      return stripeError(response, 400, { type: 'invalid_request_error', message: 'Missing Stripe-Version header.' });
    }
    if (method === 'POST' && text && !String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return stripeError(response, 400, {
        type: 'invalid_request_error',
        message: 'Invalid request: the body must be application/x-www-form-urlencoded.',
      });
    }
    // https://docs.stripe.com/api/idempotent_requests: the same key replays the first answer; other params are 400.
    const replayKey = idempotencyKey ? `${method} ${url.pathname} ${idempotencyKey}` : undefined;
    if (replayKey) {
      const stored = idempotent.get(replayKey);
      if (stored) {
        if (stored.form !== text) {
          return stripeError(response, 400, {
            type: 'idempotency_error',
            message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
          });
        }
        return send(response, stored.status, stored.body);
      }
    }
    const answer = (status: number, body: unknown) => {
      if (replayKey && status < 500) idempotent.set(replayKey, { status, body, form: text });
      send(response, status, body);
    };
    const missing = (what: string) =>
      stripeError(response, 404, { type: 'invalid_request_error', message: `No such ${what}.`, code: 'resource_missing' });

    const path = url.pathname;
    let match: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/billing/meter_events') {
      const current = mode;
      if (current.kind === 'drop_connection') {
        socket.destroy();
        return;
      }
      if (current.kind === 'error') {
        return stripeError(response, current.status, {
          type: current.type ?? (current.status === 429 ? 'rate_limit_error' : 'api_error'),
          message: current.status === 429 ? 'Too many requests.' : 'An unknown error occurred.',
          ...(current.code ? { code: current.code } : {}),
        });
      }
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      if (current.kind === 'accept_then_stall') {
        const accepted = meterEvent(form, response);
        if (!accepted) return;
        if (current.ms === undefined) return; // never answers; the socket stays open until the client gives up
        await new Promise((resolve) => setTimeout(resolve, current.ms));
        if (!response.writableEnded && !socket.destroyed) send(response, 200, meterEventObject(accepted));
        return;
      }
      const accepted = meterEvent(form, response);
      if (accepted) send(response, 200, meterEventObject(accepted));
      return;
    }
    if (method === 'GET' && path === '/v1/billing/meters') {
      return send(response, 200, list(path, [...meterRecords.values()].map(meterObject).filter((m) => !query.status || m.status === query.status)));
    }
    if (method === 'POST' && path === '/v1/billing/meters') {
      const eventName = String(form.event_name ?? '');
      // Stripe keeps an event name for its meter, archived or not.
      if ([...meterRecords.values()].some((meter) => meter.event_name === eventName)) {
        return stripeError(response, 400, {
          type: 'invalid_request_error',
          message: `A meter with event_name ${eventName} already exists.`,
          param: 'event_name',
        });
      }
      const aggregation = form.default_aggregation as Record<string, unknown> | undefined;
      const meter = addMeter({
        event_name: eventName,
        display_name: String(form.display_name ?? eventName),
        status: 'active',
        formula: String(aggregation?.formula ?? 'sum'),
        customerKey: String((form.customer_mapping as Record<string, unknown> | undefined)?.event_payload_key ?? 'stripe_customer_id'),
        valueKey: String((form.value_settings as Record<string, unknown> | undefined)?.event_payload_key ?? 'value'),
      });
      return answer(200, meterObject(meter));
    }
    if ((match = /^\/v1\/billing\/meters\/([^/]+)(?:\/(deactivate|reactivate))?$/.exec(path))) {
      const meter = meterRecords.get(match[1] as string);
      if (!meter) return missing('meter');
      if (method === 'POST' && match[2]) {
        meter.status = match[2] === 'deactivate' ? 'inactive' : 'active';
        syncMeterView(meter);
        return answer(200, meterObject(meter));
      }
      if (method === 'GET' && !match[2]) return send(response, 200, meterObject(meter));
    }
    if (method === 'GET' && (match = /^\/v1\/billing\/meters\/([^/]+)\/event_summaries$/.exec(path))) {
      const meter = meterRecords.get(match[1] as string);
      if (!meter) return missing('meter');
      const start = Number(query.start_time);
      const end = Number(query.end_time);
      if (!query.customer || !Number.isInteger(start) || !Number.isInteger(end)) {
        return stripeError(response, 400, { type: 'invalid_request_error', message: 'customer, start_time and end_time are required.' });
      }
      if (start % 60 !== 0 || end % 60 !== 0) {
        return stripeError(response, 400, {
          type: 'invalid_request_error',
          message: 'start_time and end_time must be aligned with minute boundaries.',
        });
      }
      const customer = String(query.customer);
      const summary = (from: number, to: number) => ({
        id: nextId('mtrusg'),
        object: 'billing.meter_event_summary',
        aggregated_value: meterUsage(meter.id, customer, from, to),
        start_time: from,
        end_time: to,
        meter: meter.id,
        livemode: false,
      });
      if (query.value_grouping_window === 'hour') {
        if (start % 3600 !== 0 || end % 3600 !== 0) {
          return stripeError(response, 400, { type: 'invalid_request_error', message: 'start_time and end_time must be aligned with hour boundaries.' });
        }
        const hours = new Set(
          meterEvents
            .filter((e) => e.eventName === meter.event_name && e.customer === customer && e.timestamp >= start && e.timestamp < end)
            .map((e) => e.timestamp - (e.timestamp % 3600)),
        );
        return send(response, 200, list(path, [...hours].sort((a, b) => a - b).map((hour) => summary(hour, hour + 3600))));
      }
      return send(response, 200, list(path, [summary(start, end)]));
    }
    if (method === 'GET' && (match = /^\/v2\/core\/events\/([^/]+)$/.exec(path))) {
      const event = thinEvents.get(decodeURIComponent(match[1] as string));
      return event ? send(response, 200, event) : missing('event');
    }
    if (method === 'POST' && path === '/v1/customers') {
      const id = addCustomer();
      const customer = customers.get(id) as Record<string, unknown>;
      Object.assign(customer, { email: form.email ?? null, name: form.name ?? null, metadata: form.metadata ?? {} });
      return answer(200, customer);
    }
    if ((match = /^\/v1\/customers\/([^/]+)$/.exec(path))) {
      const customer = customers.get(match[1] as string);
      if (!customer) return missing('customer');
      if (method === 'GET') return send(response, 200, customer);
      if (method === 'POST') {
        const settings = form.invoice_settings as Record<string, unknown> | undefined;
        const paymentMethod = settings?.default_payment_method;
        if (typeof paymentMethod === 'string' && paymentMethod && paymentMethods.get(paymentMethod)?.customer !== customer.id) {
          return stripeError(response, 400, {
            type: 'invalid_request_error',
            message: `No such PaymentMethod: '${paymentMethod}'; it must be attached to this customer.`,
            param: 'invoice_settings[default_payment_method]',
            code: 'resource_missing',
          });
        }
        const { invoice_settings: _settings, ...rest } = form;
        Object.assign(customer, rest);
        if (settings) customer.invoice_settings = { ...(customer.invoice_settings as object), default_payment_method: paymentMethod || null };
        emit('customer.updated', customer);
        return answer(200, customer);
      }
    }
    if (method === 'POST' && path === '/v1/setup_intents') {
      if (!customerOrError(form.customer, response)) return;
      const id = nextId('seti');
      const intent = {
        id,
        object: 'setup_intent',
        client_secret: `${id}_secret_${Math.random().toString(36).slice(2, 12)}`,
        customer: form.customer,
        usage: form.usage ?? 'off_session',
        status: 'requires_payment_method',
        payment_method: null,
        metadata: form.metadata ?? {},
      };
      setupIntents.set(id, intent);
      return answer(200, intent);
    }
    if (method === 'POST' && path === '/v1/subscriptions') {
      const subscription = createSubscription(form, response);
      if (subscription) answer(200, subscriptionObject(subscription));
      return;
    }
    if (method === 'GET' && path === '/v1/subscriptions') {
      const status = String(query.status ?? '');
      const found = [...subscriptions.values()].filter(
        (s) =>
          (!query.customer || s.customer === query.customer) &&
          (!query.price || s.items.some((item) => item.price === query.price)) &&
          (status === 'all' || (status ? s.status === status : s.status !== 'canceled' && s.status !== 'incomplete_expired')),
      );
      return send(response, 200, list(path, found.map(subscriptionObject)));
    }
    if ((match = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
      const subscription = subscriptions.get(match[1] as string);
      if (!subscription) return missing('subscription');
      if (method === 'GET') return send(response, 200, subscriptionObject(subscription));
      if (method === 'DELETE') {
        if (subscription.status !== 'canceled') endSubscription(subscription, nowSeconds(), form.invoice_now === 'true');
        return answer(200, subscriptionObject(subscription));
      }
      if (method === 'POST') {
        if (subscription.status === 'canceled') {
          return stripeError(response, 400, { type: 'invalid_request_error', message: 'A canceled subscription can only update its metadata.' });
        }
        if ('default_payment_method' in form) {
          const paymentMethod = String(form.default_payment_method);
          if (paymentMethod && paymentMethods.get(paymentMethod)?.customer !== subscription.customer) return missing('PaymentMethod');
          subscription.defaultPaymentMethod = paymentMethod || null;
        }
        if ('cancel_at' in form) subscription.cancelAt = form.cancel_at ? Number(form.cancel_at) : null;
        if (form.metadata) subscription.metadata = { ...subscription.metadata, ...(form.metadata as Record<string, unknown>) };
        emit('customer.subscription.updated', subscriptionObject(subscription));
        return answer(200, subscriptionObject(subscription));
      }
    }
    if (method === 'GET' && path === '/v1/invoices') {
      const created = query.created as Record<string, unknown> | undefined;
      const gte = created?.gte !== undefined ? Number(created.gte) : -Infinity;
      const found = [...invoices.values()].filter((i) => (!query.customer || i.customer === query.customer) && i.created >= gte);
      return send(response, 200, list(path, found.sort((a, b) => b.created - a.created).map(invoiceObject)));
    }
    if ((match = /^\/v1\/invoices\/([^/]+)(\/lines)?$/.exec(path))) {
      const invoice = invoices.get(match[1] as string);
      if (!invoice || deletedInvoices.has(invoice.id)) return missing('invoice');
      if (method === 'GET' && match[2]) return send(response, 200, list(path, invoice.lines.map((line) => lineObject(invoice, line))));
      if (method === 'GET') return send(response, 200, invoiceObject(invoice));
      if (method === 'POST' && !match[2]) {
        if (invoice.status !== 'draft') {
          return stripeError(response, 400, { type: 'invalid_request_error', message: 'Only draft invoices can be scheduled.' });
        }
        if (form.automatically_finalizes_at) invoice.autoFinalizeAt = Number(form.automatically_finalizes_at);
        emit('invoice.updated', invoiceObject(invoice));
        return answer(200, invoiceObject(invoice));
      }
    }
    if (method === 'POST' && path === '/v1/products') {
      const id = nextId('prod');
      products.set(id, { id, object: 'product', name: form.name, metadata: form.metadata ?? {} });
      return answer(200, products.get(id));
    }
    if (method === 'GET' && path === '/v1/prices') {
      const keys = (query.lookup_keys as string[] | undefined) ?? [];
      const wanted = [...prices.values()].filter((p) => keys.length === 0 || keys.includes(p.lookup_key as string));
      return send(response, 200, list(path, wanted.filter((p) => query.active === undefined || String(p.active) === query.active)));
    }
    if (method === 'GET' && (match = /^\/v1\/prices\/([^/]+)$/.exec(path))) {
      const price = prices.get(match[1] as string);
      return price ? send(response, 200, price) : missing('price');
    }
    if (method === 'POST' && path === '/v1/prices') {
      const holder = [...prices.values()].find((p) => form.lookup_key && p.lookup_key === form.lookup_key);
      if (holder) {
        if (form.transfer_lookup_key !== 'true') {
          return stripeError(response, 400, {
            type: 'invalid_request_error',
            message: `A price (${String(holder.id)}) already uses that lookup key.`,
            param: 'lookup_key',
          });
        }
        holder.lookup_key = null;
      }
      const id = nextId('price');
      const { transfer_lookup_key: _transfer, product_data: productData, ...fields } = form;
      const product = nextId('prod');
      products.set(product, { id: product, object: 'product', ...(productData as Record<string, unknown>) });
      prices.set(id, { id, object: 'price', active: true, product, metadata: {}, ...fields });
      return answer(200, prices.get(id));
    }
    return stripeError(response, 404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` });
  }

  const server: Server = createServer((request, response) => {
    route(request, response, request.socket).catch((error: unknown) => {
      if (!response.headersSent) stripeError(response, 500, { type: 'api_error', message: String(error) });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    requests,
    meterEvents,
    refusedMeterEvents,
    customers,
    meters,
    deliveries,
    setMeterEventMode: (next) => {
      mode = next;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    meterEventStreamCount: () => streamEvents,
    expireMeterEventSessions: () => {
      for (const token of sessions.keys()) sessions.set(token, now());
    },
    now,
    advanceTo,
    addCustomer,
    addPaymentMethod: (customerId, options = {}) => {
      if (!customers.has(customerId)) throw new Error(`no customer ${customerId}`);
      const id = nextId('pm');
      paymentMethods.set(id, { id, customer: customerId, declines: options.declines === true });
      return id;
    },
    confirmSetupIntent: async (setupIntentId, options = {}) => {
      const intent = setupIntents.get(setupIntentId);
      if (!intent) throw new Error(`no SetupIntent ${setupIntentId}`);
      const id = nextId('pm');
      paymentMethods.set(id, { id, customer: String(intent.customer), declines: options.declines === true });
      Object.assign(intent, { status: 'succeeded', payment_method: id });
      emit('setup_intent.succeeded', { ...intent });
      await deliveryChain;
      return id;
    },
    seedMeterEvent: (event) => {
      meterEvents.push(event);
      byIdentifier.set(event.identifier, event);
    },
    refuseMeterEventsLater: (options) => {
      refusal = { remaining: options.count, code: options.code, message: options.message, samplesPerReport: options.samplesPerReport ?? 10, batch: [] };
    },
    setWebhookEndpoint: (next) => {
      endpoint = next;
    },
    setWebhooksDelivered: (delivered) => {
      webhooksDelivered = delivered;
    },
    flushWebhooks: async () => {
      reportRefusals();
      await deliveryChain;
    },
    invoices: (customerId) =>
      [...invoices.values()]
        .filter((invoice) => !deletedInvoices.has(invoice.id) && (!customerId || invoice.customer === customerId))
        .sort((a, b) => a.periodStart - b.periodStart)
        .map((invoice) => ({
          id: invoice.id,
          customer: invoice.customer,
          subscription: invoice.subscription,
          status: invoice.status,
          periodStart: invoice.periodStart,
          periodEnd: invoice.periodEnd,
          total: invoice.total,
          lines: invoice.lines.map((line) => ({ price: line.price, quantity: line.quantity, amount: line.amount })),
          payments: [...invoice.payments],
          finalizedAt: invoice.finalizedAt,
        })),
    subscriptionsOf: (customerId) =>
      [...subscriptions.values()]
        .filter((subscription) => subscription.customer === customerId)
        .map((subscription) => ({
          id: subscription.id,
          status: subscription.status,
          defaultPaymentMethod: subscription.defaultPaymentMethod,
          anchor: subscription.anchor,
          start: subscription.start,
        })),
    cancelSubscription: async (subscriptionId, options = {}) => {
      const subscription = subscriptions.get(subscriptionId);
      if (!subscription) throw new Error(`no subscription ${subscriptionId}`);
      endSubscription(subscription, nowSeconds(), options.invoiceNow === true);
      await deliveryChain;
    },
    setSubscriptionStatus: async (subscriptionId, status) => {
      const subscription = subscriptions.get(subscriptionId);
      if (!subscription) throw new Error(`no subscription ${subscriptionId}`);
      setSubscriptionStatus(subscription, status);
      await deliveryChain;
    },
    markUncollectible: async (invoiceId) => {
      const invoice = invoices.get(invoiceId);
      if (!invoice || invoice.status !== 'open') throw new Error(`no open invoice ${invoiceId}`);
      invoice.status = 'uncollectible';
      invoice.uncollectibleAt = nowSeconds();
      invoice.nextPaymentAttempt = null;
      emit('invoice.marked_uncollectible', invoiceObject(invoice));
      await deliveryChain;
    },
    deleteDraftInvoice: async (invoiceId) => {
      const invoice = invoices.get(invoiceId);
      if (!invoice || invoice.status !== 'draft') throw new Error(`no draft invoice ${invoiceId}`);
      deletedInvoices.add(invoiceId);
      emit('invoice.deleted', invoiceObject(invoice));
      await deliveryChain;
    },
    calls: (method, path) =>
      requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))),
    close: async () => {
      await deliveryChain;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function meterEventObject(event: AcceptedMeterEvent) {
  return {
    object: 'billing.meter_event',
    created: Math.floor(event.acceptedAt / 1000),
    event_name: event.eventName,
    identifier: event.identifier,
    livemode: false,
    payload: { stripe_customer_id: event.customer, value: String(event.value) },
    timestamp: event.timestamp,
  };
}

/** A webhook delivery as Stripe signs it (https://github.com/stripe/stripe-node#testing-webhook-signing). */
export function signStripeEvent(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
}
