import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createStripeClient } from '../../shared/billing/stripeClient.js';
import { signEntraToken } from '../support/fakeEntra.js';
import {
  addApiKey,
  addCardThroughApi,
  addUser,
  createUsageFixture,
  invokeTimer,
  startBillingApi,
  type BillingApi,
  type UsageFixture,
} from '../support/billingFixtures.js';
import { signStripeEvent } from '../../fakes/fakeStripe.js';
import { callApi } from '../support/http.js';

/*
 * Customers, cards, subscriptions, paid work, webhooks and invoices with billing on: an API of this file's own,
 * Stripe pointed at the fake (its meters and prices made by stripe:setup's code; its webhooks sent back here).
 */

let api: BillingApi;
let url: string;
let fixture: UsageFixture;
let stripe: Stripe;

beforeAll(async () => {
  const entra = inject('entra');
  api = await startBillingApi({
    apiKeyHmacSecret: inject('apiKeyHmacSecret'),
    storageConnectionString: inject('storageConnectionString'),
    entra: { issuer: entra.issuer, audience: entra.audience, jwksUrl: entra.jwksUrl },
  });
  url = api.hosts[0]!.url;
  fixture = await createUsageFixture(api.db);
  stripe = createStripeClient({ secretKey: api.fake.secretKey, apiUrl: api.fake.url, timeoutMs: 5_000 }, { retries: 0 });
}, 180_000);

afterAll(async () => {
  await api?.close();
});

function keyFor(userId: string): Promise<string> {
  return addApiKey(api.db, userId, inject('apiKeyHmacSecret'));
}

async function customerUser(): Promise<{ userId: string; customerId: string; key: string }> {
  const customerId = api.fake.addCustomer();
  const userId = await addUser(api.db, customerId);
  return { userId, customerId, key: await keyFor(userId) };
}

function user(userId: string) {
  return api.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
}

async function webhookEventCount(): Promise<number> {
  const row = await api.db
    .selectFrom('stripe_webhook_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function stripeEvent(type: string, object: Record<string, unknown>, created: number) {
  return {
    id: `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  };
}

async function deliver(event: unknown, options: { secret?: string; signature?: string | null; body?: string } = {}) {
  const payload = JSON.stringify(event);
  const signature =
    options.signature === undefined ? signStripeEvent(payload, options.secret ?? api.webhookSecret) : options.signature;
  return callApi('/v1/webhooks/stripe', {
    method: 'POST',
    key: null,
    baseUrl: url,
    body: options.body ?? payload,
    headers: signature === null ? {} : { 'Stripe-Signature': signature },
  });
}

function setupIntentSucceeded(customerId: string, paymentMethod: string, created: number) {
  return stripeEvent(
    'setup_intent.succeeded',
    {
      id: `seti_${randomUUID().slice(0, 8)}`,
      object: 'setup_intent',
      customer: customerId,
      payment_method: paymentMethod,
      status: 'succeeded',
      usage: 'off_session',
    },
    created,
  );
}

function invoice(
  customerId: string,
  values: { id: string; status: string; periodStart: number; periodEnd: number; tokens: number; kbHours: number; total: number; paidAt?: number },
) {
  const line = (price: string, quantity: number) => ({
    id: `il_${randomUUID().slice(0, 8)}`,
    object: 'line_item',
    amount: 0,
    currency: 'usd',
    period: { start: values.periodStart, end: values.periodEnd },
    pricing: { type: 'price_details', price_details: { price, product: 'prod_x' }, unit_amount_decimal: '0.0002' },
    quantity,
  });
  return {
    id: values.id,
    object: 'invoice',
    customer: customerId,
    currency: 'usd',
    status: values.status,
    total: values.total,
    // For subscription invoices these describe the previous period's invoice items, not the usage billed.
    period_start: values.periodEnd,
    period_end: values.periodEnd,
    hosted_invoice_url: `https://invoice.stripe.test/${values.id}`,
    status_transitions: { paid_at: values.paidAt ?? null, finalized_at: null, marked_uncollectible_at: null, voided_at: null },
    lines: {
      object: 'list',
      has_more: false,
      url: `/v1/invoices/${values.id}/lines`,
      data: [line(api.prices.tokens, values.tokens), line(api.prices.storage, values.kbHours)],
    },
  };
}

describe('Stripe customers', () => {
  it('POST /v1/users creates the Stripe customer once, with an idempotency key from the user id', async () => {
    const subject = `oid-${randomUUID()}`;
    const token = await signEntraToken({ subject, claims: { name: 'Grace Hopper', email: 'grace@example.com' } });
    const before = api.fake.calls('POST', '/v1/customers').length;
    const created = await callApi('/v1/users', { method: 'POST', bearer: token, baseUrl: url });
    expect(created.status).toBe(201);
    const userId = (created.json as { id: string }).id;
    const calls = api.fake.calls('POST', '/v1/customers').slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.idempotencyKey).toBe(`tracepipe-customer-${userId}`);
    expect(calls[0]!.form).toEqual({ name: 'Grace Hopper', email: 'grace@example.com', metadata: { tracepipe_user_id: userId } });
    const stored = await user(userId);
    expect(stored.stripe_customer_id).toMatch(/^cus_/);
    expect(api.fake.customers.has(stored.stripe_customer_id!)).toBe(true);

    const again = await callApi('/v1/users', { method: 'POST', bearer: token, baseUrl: url });
    expect(again.status).toBe(200);
    expect(api.fake.calls('POST', '/v1/customers').slice(before)).toHaveLength(1);
  });

  it('POST /v1/users under concurrent first calls ends with one customer', async () => {
    const token = await signEntraToken({ subject: `oid-${randomUUID()}` });
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => callApi('/v1/users', { method: 'POST', bearer: token, baseUrl: url })),
    );
    const ids = new Set(responses.map((response) => (response.json as { id: string }).id));
    expect(ids.size).toBe(1);
    const [userId] = [...ids];
    const customers = [...api.fake.customers.values()].filter(
      (customer) => (customer.metadata as Record<string, unknown>).tracepipe_user_id === userId,
    );
    // Every create call carried the same idempotency key, so Stripe made one customer.
    expect(customers).toHaveLength(1);
    expect((await user(userId!)).stripe_customer_id).toBe(customers[0]!.id);
  });
});

describe('POST /v1/billing/setup-intent', () => {
  it('returns a client secret of a SetupIntent for the user\'s customer, for off-session use', async () => {
    const { customerId, key } = await customerUser();
    const response = await callApi('/v1/billing/setup-intent', { method: 'POST', key, baseUrl: url });
    expect(response.status).toBe(201);
    expect((response.json as { client_secret: string }).client_secret).toMatch(/^seti_\w+_secret_\w+$/);
    const call = api.fake.calls('POST', '/v1/setup_intents').at(-1)!;
    expect(call.form).toMatchObject({ customer: customerId, usage: 'off_session', automatic_payment_methods: { enabled: 'true' } });
  });

  it('creates the customer first for a user who has none yet', async () => {
    const userId = await addUser(api.db, null);
    const key = await keyFor(userId);
    const response = await callApi('/v1/billing/setup-intent', { method: 'POST', key, baseUrl: url });
    expect(response.status).toBe(201);
    const customerId = (await user(userId)).stripe_customer_id;
    expect(customerId).toMatch(/^cus_/);
    expect(api.fake.calls('POST', '/v1/setup_intents').at(-1)!.form.customer).toBe(customerId);
  });

  it('is 503 naming Stripe when Stripe cannot be reached', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const down = await api.startHost({ STRIPE_API_URL: `http://127.0.0.1:${port}`, STRIPE_TIMEOUT_MS: '2000' });
    try {
      const { key } = await customerUser();
      const response = await callApi('/v1/billing/setup-intent', { method: 'POST', key, baseUrl: down.url });
      expect(response.status).toBe(503);
      expect(response.json).toEqual({
        error: { code: 'unavailable', message: 'Stripe is unavailable; retry later.', details: { dependency: 'stripe' } },
      });
      expect(response.headers.get('retry-after')).toBe('5');
    } finally {
      await down.stop();
      api.hosts.splice(api.hosts.indexOf(down), 1);
    }
  });
});

/** A user with a card on file and a subscription, the way the storefront gets there: SetupIntent, Stripe.js confirms. */
async function subscribedUser(): Promise<{ userId: string; customerId: string; key: string; paymentMethod: string; subscriptionId: string }> {
  const { userId, customerId, key } = await customerUser();
  const paymentMethod = await addCard(key);
  const [subscription] = api.fake.subscriptionsOf(customerId);
  return { userId, customerId, key, paymentMethod, subscriptionId: subscription!.id };
}

function addCard(key: string, options: { declines?: boolean } = {}): Promise<string> {
  return addCardThroughApi(api, key, options);
}

function createSession(key: string, options: { bearer?: string; baseUrl?: string } = {}) {
  return callApi('/v1/sessions', {
    method: 'POST',
    ...(options.bearer ? { bearer: options.bearer } : { key }),
    baseUrl: options.baseUrl ?? url,
    body: { suite_id: fixture.suiteId },
  });
}

function mirrorOf(userId: string) {
  return api.db.selectFrom('billing_subscriptions').selectAll().where('user_id', '=', userId).orderBy('started_at').execute();
}

function paymentRequired(response: { status: number; json: unknown }): unknown {
  expect(response.status).toBe(402);
  const error = (response.json as { error: { code: string; details: unknown } }).error;
  expect(error.code).toBe('payment_required');
  return error.details;
}

describe('cards and subscriptions', () => {
  it('makes a confirmed card the customer\'s default and subscribes, anchored to the 1st at 00:00 UTC, with no card of its own', async () => {
    const { userId, customerId, key } = await customerUser();
    const denied = await callApi('/v1/api-keys', { method: 'POST', key, baseUrl: url, body: { name: 'ci' } });
    expect(denied.status).toBe(403);
    expect((denied.json as { error: { details: unknown } }).error.details).toEqual({ reason: 'payment_method_required' });

    const paymentMethod = await addCard(key);
    expect((await user(userId)).default_payment_method_id).toBe(paymentMethod);
    expect(api.fake.customers.get(customerId)!.invoice_settings).toEqual({ default_payment_method: paymentMethod });
    const [create] = api.fake.calls('POST', '/v1/subscriptions').filter((call) => call.form.customer === customerId);
    expect(create!.idempotencyKey).toBe(`tracepipe-subscription-${userId}-after-none`);
    expect(create!.form).toEqual({
      customer: customerId,
      items: [{ price: api.prices.tokens }, { price: api.prices.storage }],
      billing_cycle_anchor_config: { day_of_month: '1', hour: '0', minute: '0', second: '0' },
      proration_behavior: 'none',
      metadata: { tracepipe_user_id: userId },
    });
    const [subscription] = api.fake.subscriptionsOf(customerId);
    const now = new Date(api.fake.now());
    expect(new Date(subscription!.anchor * 1000)).toEqual(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)));
    expect(subscription!.defaultPaymentMethod).toBeNull();
    const [mirror] = await mirrorOf(userId);
    expect(mirror).toMatchObject({
      stripe_subscription_id: subscription!.id,
      status: 'active',
      started_at: new Date(subscription!.start * 1000),
      ended_at: null,
      tokens_price_id: api.prices.tokens,
      tokens_unit_amount: '0.0002',
      storage_price_id: api.prices.storage,
      storage_unit_amount: '0.000000005',
    });

    const allowed = await callApi('/v1/api-keys', { method: 'POST', key, baseUrl: url, body: { name: 'ci' } });
    expect(allowed.status).toBe(201);
  });

  it('applies setup_intent.succeeded once, and never lets an older card\'s event replace a newer card', async () => {
    const { userId, customerId } = await customerUser();
    const card = api.fake.addPaymentMethod(customerId);
    const created = Math.floor(Date.now() / 1000);
    const event = setupIntentSucceeded(customerId, card, created);
    expect((await deliver(event)).json).toEqual({ received: true, duplicate: false, effect: 'applied' });
    expect((await deliver(event)).json).toEqual({ received: true, duplicate: true, effect: 'ignored' });
    const older = api.fake.addPaymentMethod(customerId);
    expect((await deliver(setupIntentSucceeded(customerId, older, created - 60))).json).toEqual({
      received: true,
      duplicate: false,
      effect: 'stale',
    });
    expect((await user(userId)).default_payment_method_id).toBe(card);
    expect(api.fake.calls('POST', `/v1/customers/${customerId}`)).toHaveLength(1);
    expect(api.fake.subscriptionsOf(customerId)).toHaveLength(1);
  });

  it('keeps one payment method: a subscription\'s own card (as earlier versions set it) is cleared, so invoices charge the customer\'s', async () => {
    const { userId, customerId, key } = await customerUser();
    const first = api.fake.addPaymentMethod(customerId);
    await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: first } });
    await api.db.updateTable('users').set({ default_payment_method_id: first }).where('id', '=', userId).execute();
    // A subscription made the old way: the first card its own default, which outranks the customer's.
    const legacy = await stripe.subscriptions.create({
      customer: customerId,
      items: [{ price: api.prices.tokens }, { price: api.prices.storage }],
      default_payment_method: first,
    });
    await api.fake.flushWebhooks();
    expect(api.fake.subscriptionsOf(customerId)[0]!.defaultPaymentMethod).toBeNull();
    const [mirror] = await mirrorOf(userId);
    expect(mirror).toMatchObject({ stripe_subscription_id: legacy.id, default_payment_method: null });

    // A new card: the customer's default, and what the live subscription's invoices charge.
    const second = await addCard(key);
    expect(api.fake.customers.get(customerId)!.invoice_settings).toEqual({ default_payment_method: second });
    expect(api.fake.subscriptionsOf(customerId)).toEqual([expect.objectContaining({ id: legacy.id, defaultPaymentMethod: null })]);
  });

  it('follows customer.updated: a default payment method removed in Stripe stops paid work here', async () => {
    const { userId, customerId, key } = await subscribedUser();
    const other = api.fake.addPaymentMethod(customerId);
    await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: other } });
    await api.fake.flushWebhooks();
    expect((await user(userId)).default_payment_method_id).toBe(other);
    await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: '' } });
    await api.fake.flushWebhooks();
    expect((await user(userId)).default_payment_method_id).toBeNull();
    expect(paymentRequired(await createSession(key))).toEqual({ reason: 'payment_method_required' });
  });
});

describe('paid work needs a subscription that bills', () => {
  it('is 402 without a card, by API key, storefront token, MCP and A2P alike, and changes nothing; reads still work', async () => {
    const subject = `oid-${randomUUID()}`;
    const token = await signEntraToken({ subject });
    const registered = await callApi('/v1/users', { method: 'POST', bearer: token, baseUrl: url });
    expect(registered.status).toBe(201);
    const userId = (registered.json as { id: string }).id;
    const key = await keyFor(userId);

    expect(paymentRequired(await createSession(key))).toEqual({ reason: 'payment_method_required' });
    expect(paymentRequired(await createSession(key, { bearer: token }))).toEqual({ reason: 'payment_method_required' });
    const example = await callApi('/v1/examples', {
      method: 'POST',
      key,
      baseUrl: url,
      body: { session_id: randomUUID(), model_id: fixture.modelId },
    });
    expect(paymentRequired(example)).toEqual({ reason: 'payment_method_required' });

    const mcp = await callApi('/v1/mcp', {
      method: 'POST',
      key,
      baseUrl: url,
      headers: { Accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'create_session', arguments: { suite_id: fixture.suiteId } } },
    });
    const tool = (mcp.json as { result: { isError: boolean; structuredContent: { error: { code: string } } } }).result;
    expect(tool.isError).toBe(true);
    expect(tool.structuredContent.error.code).toBe('payment_required');

    const a2p = await callApi('/v1/a2p', {
      method: 'POST',
      key,
      baseUrl: url,
      body: {
        jsonrpc: '2.0',
        id: 'a',
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            messageId: randomUUID(),
            role: 'user',
            parts: [
              { kind: 'file', file: { bytes: Buffer.from('{"type":"click","ts":1}\n').toString('base64'), mimeType: 'application/jsonl', name: 'input_events.jsonl' } },
              { kind: 'data', data: { suite_id: fixture.suiteId, model_id: fixture.modelId } },
            ],
          },
        },
      },
    });
    expect(a2p.json).toMatchObject({ result: { kind: 'task', status: { state: 'rejected' } } });

    const sessions = await api.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute();
    expect(sessions).toEqual([]);
    expect((await callApi('/v1/sessions', { key, baseUrl: url })).status).toBe(200);
    expect((await callApi('/v1/usage', { key, baseUrl: url })).status).toBe(200);
  });

  it('subscribes, at the first paid request, a user whose card predates the prices, and lets the work through', async () => {
    const { userId, customerId, key } = await customerUser();
    const card = api.fake.addPaymentMethod(customerId);
    await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: card } });
    await api.db.updateTable('users').set({ default_payment_method_id: card }).where('id', '=', userId).execute();
    expect(await mirrorOf(userId)).toEqual([]);

    const created = await createSession(key);
    expect(created.status).toBe(201);
    const subscriptions = api.fake.subscriptionsOf(customerId);
    expect(subscriptions).toHaveLength(1);
    expect((await mirrorOf(userId)).map((row) => row.status)).toEqual(['active']);
    expect((await createSession(key)).status).toBe(201);
    expect(api.fake.subscriptionsOf(customerId)).toHaveLength(1);
  });

  it('stops a canceled customer, and lets a new card subscribe anew (the old subscription blocks nothing)', async () => {
    const { userId, customerId, key, subscriptionId } = await subscribedUser();
    expect((await createSession(key)).status).toBe(201);
    await api.fake.cancelSubscription(subscriptionId);
    expect((await mirrorOf(userId))[0]).toMatchObject({ status: 'canceled', ended_at: expect.any(Date) });
    expect(paymentRequired(await createSession(key))).toEqual({ reason: 'subscription_inactive', status: 'canceled' });

    await addCard(key);
    const subscriptions = api.fake.subscriptionsOf(customerId);
    expect(subscriptions.map((subscription) => subscription.status)).toEqual(['canceled', 'active']);
    const renewal = api.fake.calls('POST', '/v1/subscriptions').filter((call) => call.form.customer === customerId).at(-1)!;
    expect(renewal.idempotencyKey).toBe(`tracepipe-subscription-${userId}-after-${subscriptionId}`);
    expect((await createSession(key)).status).toBe(201);
  });

  it('lets a past_due subscription work for the grace period, then answers 402 until it is paid', async () => {
    const { userId, key, subscriptionId } = await subscribedUser();
    const noGrace = await api.startHost({ BILLING_PAST_DUE_GRACE_DAYS: '0' });
    try {
      await api.fake.setSubscriptionStatus(subscriptionId, 'past_due');
      const [mirror] = await mirrorOf(userId);
      expect(mirror).toMatchObject({ status: 'past_due', past_due_since: expect.any(Date) });
      expect((await createSession(key)).status).toBe(201);
      expect(paymentRequired(await createSession(key, { baseUrl: noGrace.url }))).toEqual({
        reason: 'past_due_grace_expired',
        status: 'past_due',
        past_due_since: mirror!.past_due_since!.toISOString(),
      });
      await api.fake.setSubscriptionStatus(subscriptionId, 'active');
      expect((await mirrorOf(userId))[0]).toMatchObject({ status: 'active', past_due_since: null });
      expect((await createSession(key, { baseUrl: noGrace.url })).status).toBe(201);
    } finally {
      await noGrace.stop();
      api.hosts.splice(api.hosts.indexOf(noGrace), 1);
    }
  });
});

describe('POST /v1/webhooks/stripe', () => {
  it('answers 400 and changes nothing when the signature is missing, wrong, stale or over another body', async () => {
    const { userId, customerId } = await customerUser();
    const event = setupIntentSucceeded(customerId, 'pm_forged', Math.floor(Date.now() / 1000));
    const payload = JSON.stringify(event);
    const eventsBefore = await webhookEventCount();
    const stripeCallsBefore = api.fake.requests.length;
    const thin = JSON.stringify({ id: 'evt_thin_forged', object: 'v2.core.event', type: 'v1.billing.meter.error_report_triggered' });
    const attempts = [
      await deliver(event, { signature: null }),
      await deliver(event, { secret: 'whsec_not_the_right_one' }),
      await deliver(event, { signature: signStripeEvent(payload, api.webhookSecret, Math.floor(Date.now() / 1000) - 3600) }),
      await deliver(event, { body: payload.replace('pm_forged', 'pm_swapped') }),
      await deliver(event, { signature: 't=1,v1=deadbeef' }),
      // A thin event signed with the snapshot endpoint's secret, not the event destination's.
      await deliver(event, { body: thin, signature: signStripeEvent(thin, api.webhookSecret) }),
    ];
    for (const response of attempts) {
      expect(response.status).toBe(400);
      expect((response.json as { error: { code: string } }).error.code).toBe('bad_request');
    }
    expect(await webhookEventCount()).toBe(eventsBefore);
    expect(api.fake.requests.length).toBe(stripeCallsBefore);
    expect((await user(userId)).default_payment_method_id).toBeNull();
  });

  it('keeps a local copy of invoices whatever the order of delivery, and GET /v1/invoices lists them newest first', async () => {
    const { customerId, key } = await customerUser();
    const jan = { start: Date.UTC(2026, 0, 1) / 1000, end: Date.UTC(2026, 1, 1) / 1000 };
    const feb = { start: Date.UTC(2026, 1, 1) / 1000, end: Date.UTC(2026, 2, 1) / 1000 };
    const janId = `in_jan_${randomUUID().slice(0, 8)}`;
    const febId = `in_feb_${randomUUID().slice(0, 8)}`;
    const janOpen = invoice(customerId, { id: janId, status: 'open', periodStart: jan.start, periodEnd: jan.end, tokens: 1_250_000, kbHours: 744_500_000, total: 254 });
    const janPaid = { ...janOpen, status: 'paid', status_transitions: { ...janOpen.status_transitions, paid_at: feb.start + 3600 } };
    const febDraft = invoice(customerId, { id: febId, status: 'draft', periodStart: feb.start, periodEnd: feb.end, tokens: 10, kbHours: 2_500_000, total: 0 });

    // invoice.paid arrives before invoice.finalized (both may even share a second); the final state is paid.
    expect((await deliver(stripeEvent('invoice.paid', janPaid, feb.start + 3600))).json).toMatchObject({ effect: 'applied' });
    expect((await deliver(stripeEvent('invoice.finalized', janOpen, feb.start + 60))).json).toMatchObject({ effect: 'stale' });
    expect((await deliver(stripeEvent('invoice.updated', { ...janOpen, total: 999 }, feb.start + 3600))).json).toMatchObject({
      effect: 'stale',
    });
    expect((await deliver(stripeEvent('invoice.created', febDraft, feb.end - 60))).json).toMatchObject({ effect: 'applied' });

    const page = await callApi('/v1/invoices', { key, baseUrl: url });
    expect(page.status).toBe(200);
    expect(page.json).toEqual({
      items: [
        {
          id: expect.any(String),
          billing_period: { start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' },
          tokens_consumed: 10,
          storage_gb_hours: 2.5,
          total_amount: 0,
          currency: 'usd',
          status: 'draft',
          paid_at: null,
          stripe_invoice_url: `https://invoice.stripe.test/${febId}`,
        },
        {
          id: expect.any(String),
          billing_period: { start: '2026-01-01T00:00:00.000Z', end: '2026-02-01T00:00:00.000Z' },
          tokens_consumed: 1_250_000,
          storage_gb_hours: 744.5,
          total_amount: 254,
          currency: 'usd',
          status: 'paid',
          paid_at: '2026-02-01T01:00:00.000Z',
          stripe_invoice_url: `https://invoice.stripe.test/${janId}`,
        },
      ],
      total: 2,
      page: 1,
      per_page: 12,
    });

    const second = await callApi('/v1/invoices?per_page=1&page=2', { key, baseUrl: url });
    expect((second.json as { items: Array<{ status: string }> }).items.map((item) => item.status)).toEqual(['paid']);

    // A deleted draft goes from the list.
    await deliver(stripeEvent('invoice.deleted', febDraft, feb.end));
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ total: 1 });

    // Another user sees none of it.
    const other = await customerUser();
    expect((await callApi('/v1/invoices', { key: other.key, baseUrl: url })).json).toEqual({ items: [], total: 0, page: 1, per_page: 12 });
  });

  it('leaves no phantom draft when invoice.deleted arrives before invoice.created', async () => {
    const { customerId, key } = await customerUser();
    const start = Date.UTC(2026, 3, 1) / 1000;
    const draft = invoice(customerId, { id: `in_gone_${randomUUID().slice(0, 8)}`, status: 'draft', periodStart: start, periodEnd: start + 86_400, tokens: 1, kbHours: 1, total: 0 });
    expect((await deliver(stripeEvent('invoice.deleted', draft, start + 90_000))).json).toMatchObject({ effect: 'applied' });
    expect((await deliver(stripeEvent('invoice.created', draft, start + 86_400))).json).toMatchObject({ effect: 'stale' });
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ items: [], total: 0 });
  });

  it('shows an uncollectible invoice as uncollectible, and paid if it is paid after all', async () => {
    const { customerId, key } = await customerUser();
    const start = Date.UTC(2026, 4, 1) / 1000;
    const values = { id: `in_bad_${randomUUID().slice(0, 8)}`, periodStart: start, periodEnd: start + 86_400, tokens: 5, kbHours: 0, total: 77 };
    await deliver(stripeEvent('invoice.marked_uncollectible', invoice(customerId, { ...values, status: 'uncollectible' }), start + 90_000));
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ items: [{ status: 'uncollectible' }] });
    await deliver(stripeEvent('invoice.finalized', invoice(customerId, { ...values, status: 'open' }), start + 95_000));
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ items: [{ status: 'uncollectible' }] });
    await deliver(stripeEvent('invoice.paid', invoice(customerId, { ...values, status: 'paid', paidAt: start + 99_000 }), start + 99_000));
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ items: [{ status: 'paid' }] });
  });

  it('announces invoice.finalized and invoice.paid to the owner\'s webhooks once each, with the invoice as GET /v1/invoices shows it', async () => {
    const { userId, customerId, key } = await customerUser();
    const endpoint = await api.db
      .insertInto('webhook_endpoints')
      .values({ user_id: userId, url: 'http://127.0.0.1:9/never-called', events: ['invoice.finalized', 'invoice.paid'], secret: 'whsec_test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const start = Date.UTC(2026, 5, 1) / 1000;
    const values = { id: `in_hook_${randomUUID().slice(0, 8)}`, periodStart: start, periodEnd: start + 86_400, tokens: 5, kbHours: 0, total: 77 };
    const finalized = stripeEvent('invoice.finalized', invoice(customerId, { ...values, status: 'open' }), start + 90_000);
    await deliver(finalized);
    const open = ((await callApi('/v1/invoices', { key, baseUrl: url })).json as { items: unknown[] }).items[0];
    // Stripe delivers at least once: the same event again announces nothing more.
    expect((await deliver(finalized)).json).toMatchObject({ duplicate: true });
    await deliver(stripeEvent('invoice.paid', invoice(customerId, { ...values, status: 'paid', paidAt: start + 99_000 }), start + 99_000));
    const paid = ((await callApi('/v1/invoices', { key, baseUrl: url })).json as { items: unknown[] }).items[0];

    const events = await api.db.selectFrom('webhook_events').select(['id', 'type', 'data']).where('user_id', '=', userId).orderBy('created_at').execute();
    expect(events.map((event) => [event.type, event.data])).toEqual([
      ['invoice.finalized', open],
      ['invoice.paid', paid],
    ]);
    const deliveries = await api.db.selectFrom('webhook_deliveries').select('event_id').where('endpoint_id', '=', endpoint.id).execute();
    expect(deliveries.map((delivery) => delivery.event_id).sort()).toEqual(events.map((event) => event.id).sort());
  });

  it('announces an invoice first heard of as paid (events out of order, or the daily read) as finalized and paid, and the late finalized event as nothing', async () => {
    const { userId, customerId } = await customerUser();
    const start = Date.UTC(2026, 6, 1) / 1000;
    const values = { id: `in_late_${randomUUID().slice(0, 8)}`, periodStart: start, periodEnd: start + 86_400, tokens: 5, kbHours: 0, total: 77 };
    await deliver(stripeEvent('invoice.paid', invoice(customerId, { ...values, status: 'paid', paidAt: start + 99_000 }), start + 99_000));
    await deliver(stripeEvent('invoice.finalized', invoice(customerId, { ...values, status: 'open' }), start + 90_000));
    // One transaction wrote both (the same created_at): their order is not the point, that each comes once is.
    const events = await api.db.selectFrom('webhook_events').select('type').where('user_id', '=', userId).execute();
    expect(events.map((event) => event.type).sort()).toEqual(['invoice.finalized', 'invoice.paid']);
  });

  it('reads invoice lines by the meter their price bills: a price made later on the same meter still counts', async () => {
    const { customerId, key } = await customerUser();
    const tokensMeter = [...api.fake.meters.values()].find((meter) => meter.event_name === 'tracepipe_tokens')!;
    const rotated = await stripe.prices.create({
      currency: 'usd',
      unit_amount_decimal: Stripe.Decimal.from('0.0003'),
      recurring: { interval: 'month', usage_type: 'metered', meter: tokensMeter.id },
      product_data: { name: 'Tracepipe tokens' },
    });
    const start = Date.UTC(2026, 5, 1) / 1000;
    const body = invoice(customerId, { id: `in_rot_${randomUUID().slice(0, 8)}`, status: 'open', periodStart: start, periodEnd: start + 86_400, tokens: 4_000, kbHours: 0, total: 1 });
    body.lines.data[0]!.pricing.price_details.price = rotated.id;
    await deliver(stripeEvent('invoice.finalized', body, start + 90_000));
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ items: [{ tokens_consumed: 4_000 }] });
  });

  it('pages invoices 12 at a time by default', async () => {
    const { customerId, key } = await customerUser();
    for (let month = 0; month < 13; month++) {
      const start = Date.UTC(2025, month, 1) / 1000;
      const end = Date.UTC(2025, month + 1, 1) / 1000;
      const id = `in_${month}_${randomUUID().slice(0, 8)}`;
      await deliver(stripeEvent('invoice.finalized', invoice(customerId, { id, status: 'open', periodStart: start, periodEnd: end, tokens: month, kbHours: 0, total: month }), end));
    }
    const page = (await callApi('/v1/invoices', { key, baseUrl: url })).json as { items: Array<{ tokens_consumed: number }>; total: number };
    expect(page.total).toBe(13);
    expect(page.items.map((item) => item.tokens_consumed)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('ignores events of customers it does not know, and answers 200 so that Stripe stops retrying', async () => {
    const response = await deliver(
      stripeEvent('invoice.paid', invoice('cus_nobody', { id: 'in_nobody', status: 'paid', periodStart: 0, periodEnd: 60, tokens: 1, kbHours: 1, total: 1 }), 60),
    );
    expect(response.json).toEqual({ received: true, duplicate: false, effect: 'ignored' });
    expect(await api.db.selectFrom('invoices').select('id').where('stripe_invoice_id', '=', 'in_nobody').executeTakeFirst()).toBeUndefined();
  });

  it('reads back, once a day, what an outage longer than Stripe\'s retries kept from the webhooks', async () => {
    const { userId, key, subscriptionId } = await subscribedUser();
    api.fake.setWebhooksDelivered(false);
    try {
      // A minute later, canceled in the Dashboard with the usage invoiced: neither the cancellation nor the
      // invoice arrives.
      await api.fake.advanceTo(Date.now() + 60_000);
      await api.fake.cancelSubscription(subscriptionId, { invoiceNow: true });
    } finally {
      api.fake.setWebhooksDelivered(true);
    }
    expect((await mirrorOf(userId))[0]!.status).toBe('active');
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ total: 0 });

    await invokeTimer(api.hosts[0]!, 'reconcileBilling');
    const deadline = Date.now() + 20_000;
    while ((await mirrorOf(userId))[0]!.status !== 'canceled' || (await invoicesOf(userId)).length === 0) {
      if (Date.now() > deadline) throw new Error(`the reconciliation did not catch up:\n${api.hosts[0]!.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ total: 1, items: [{ status: 'draft' }] });
  });
});

describe('subscriptions made before anchoring', () => {
  // Last in the file: it moves the fake's clock to the next month.
  it('are re-anchored: they end at the next 1st, 00:00 UTC, and an anchored successor bills from that very instant', async () => {
    const { userId, customerId, key } = await customerUser();
    const card = api.fake.addPaymentMethod(customerId);
    await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: card } });
    await api.db.updateTable('users').set({ default_payment_method_id: card }).where('id', '=', userId).execute();
    const legacy = await stripe.subscriptions.create({ customer: customerId, items: [{ price: api.prices.tokens }, { price: api.prices.storage }] });
    await api.fake.flushWebhooks();

    await invokeTimer(api.hosts[0]!, 'reconcileBilling');
    const now = new Date(api.fake.now());
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const deadline = Date.now() + 20_000;
    while ((await mirrorOf(userId))[0]?.cancel_at?.getTime() !== monthStart.getTime()) {
      if (Date.now() > deadline) throw new Error(`not scheduled:\n${api.hosts[0]!.output().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await createSession(key)).status).toBe(201);

    await api.fake.advanceTo(monthStart.getTime() + 60_000);
    const subscriptions = api.fake.subscriptionsOf(customerId);
    expect(subscriptions.map((subscription) => [subscription.id === legacy.id, subscription.status])).toEqual([
      [true, 'canceled'],
      [false, 'active'],
    ]);
    const successor = subscriptions[1]!;
    expect(new Date(successor.start * 1000)).toEqual(monthStart);
    expect(new Date(successor.anchor * 1000)).toEqual(new Date(Date.UTC(monthStart.getUTCFullYear(), monthStart.getUTCMonth() + 1, 1)));
    // The legacy subscription's last period was invoiced when it ended.
    expect(api.fake.invoices(customerId).map((invoice) => [invoice.subscription, invoice.periodEnd])).toContainEqual([legacy.id, monthStart.getTime() / 1000]);
    expect((await mirrorOf(userId)).map((row) => [row.status, row.started_at, row.ended_at])).toEqual([
      ['canceled', new Date(legacy.start_date * 1000), monthStart],
      ['active', monthStart, null],
    ]);
  });
});

function invoicesOf(userId: string) {
  return api.db.selectFrom('invoices').select('id').where('user_id', '=', userId).execute();
}
