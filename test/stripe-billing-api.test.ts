import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../shared/auth/apiKeySecret.js';
import { signEntraToken } from './support/fakeEntra.js';
import { addUser, signStripeEvent, startBillingApi, type BillingApi } from './support/fakeStripe.js';
import { callApi } from './support/http.js';

/*
 * Customers, cards, webhooks and invoices with billing on: an API of this file's own, Stripe pointed at the fake.
 */

const PRICES = { tokens: 'price_tokens_test', storage: 'price_storage_test' };
let api: BillingApi;
let url: string;

beforeAll(async () => {
  const entra = inject('entra');
  api = await startBillingApi({
    apiKeyHmacSecret: inject('apiKeyHmacSecret'),
    storageConnectionString: inject('storageConnectionString'),
    entra: { issuer: entra.issuer, audience: entra.audience, jwksUrl: entra.jwksUrl },
    env: { STRIPE_TOKENS_PRICE_ID: PRICES.tokens, STRIPE_STORAGE_PRICE_ID: PRICES.storage },
  });
  url = api.hosts[0]!.url;
}, 180_000);

afterAll(async () => {
  await api?.close();
});

async function keyFor(userId: string): Promise<string> {
  const key = generateApiKeySecret();
  await api.db
    .insertInto('api_keys')
    .values({ user_id: userId, prefix: maskApiKeySecret(key), key_hash: hashApiKeySecret(key, inject('apiKeyHmacSecret')) })
    .execute();
  return key;
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
  values: { id: string; status: string; periodStart: number; periodEnd: number; tokens: number; mbHours: number; total: number; paidAt?: number },
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
      data: [line(PRICES.tokens, values.tokens), line(PRICES.storage, values.mbHours)],
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

describe('POST /v1/webhooks/stripe', () => {
  it('answers 400 and changes nothing when the signature is missing, wrong, stale or over another body', async () => {
    const { userId, customerId } = await customerUser();
    const event = setupIntentSucceeded(customerId, 'pm_forged', Math.floor(Date.now() / 1000));
    const payload = JSON.stringify(event);
    const eventsBefore = await webhookEventCount();
    const stripeCallsBefore = api.fake.requests.length;
    const attempts = [
      await deliver(event, { signature: null }),
      await deliver(event, { secret: 'whsec_not_the_right_one' }),
      await deliver(event, { signature: signStripeEvent(payload, api.webhookSecret, Math.floor(Date.now() / 1000) - 3600) }),
      await deliver(event, { body: payload.replace('pm_forged', 'pm_swapped') }),
      await deliver(event, { signature: 't=1,v1=deadbeef' }),
    ];
    for (const response of attempts) {
      expect(response.status).toBe(400);
      expect((response.json as { error: { code: string } }).error.code).toBe('bad_request');
    }
    expect(await webhookEventCount()).toBe(eventsBefore);
    expect(api.fake.requests.length).toBe(stripeCallsBefore);
    expect((await user(userId)).default_payment_method_id).toBeNull();
  });

  it('makes the card of setup_intent.succeeded the default, subscribes to the metered prices, and then allows API keys', async () => {
    const { userId, customerId, key } = await customerUser();
    const denied = await callApi('/v1/api-keys', { method: 'POST', key, baseUrl: url, body: { name: 'ci' } });
    expect(denied.status).toBe(403);
    expect((denied.json as { error: { details: unknown } }).error.details).toEqual({ reason: 'payment_method_required' });

    const created = Math.floor(Date.now() / 1000);
    const event = setupIntentSucceeded(customerId, 'pm_card_visa', created);
    const response = await deliver(event);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ received: true, duplicate: false, effect: 'applied' });

    const stored = await user(userId);
    expect(stored.default_payment_method_id).toBe('pm_card_visa');
    expect(stored.stripe_subscription_id).toMatch(/^sub_/);
    const update = api.fake.calls('POST', `/v1/customers/${customerId}`);
    expect(update.map((call) => call.form)).toEqual([{ invoice_settings: { default_payment_method: 'pm_card_visa' } }]);
    const subscriptions = api.fake.calls('POST', '/v1/subscriptions').filter((call) => call.form.customer === customerId);
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]!.idempotencyKey).toBe(`tracepipe-subscription-${userId}`);
    expect(subscriptions[0]!.form.items).toEqual([{ price: PRICES.tokens }, { price: PRICES.storage }]);

    // Delivered again: nothing happens twice.
    const again = await deliver(event);
    expect(again.json).toEqual({ received: true, duplicate: true, effect: 'ignored' });
    expect(api.fake.calls('POST', `/v1/customers/${customerId}`)).toHaveLength(1);

    // An older card's event arriving late does not replace the newer card.
    const late = await deliver(setupIntentSucceeded(customerId, 'pm_old_card', created - 60));
    expect(late.json).toEqual({ received: true, duplicate: false, effect: 'stale' });
    expect((await user(userId)).default_payment_method_id).toBe('pm_card_visa');
    expect(api.fake.calls('POST', `/v1/customers/${customerId}`)).toHaveLength(1);

    const allowed = await callApi('/v1/api-keys', { method: 'POST', key, baseUrl: url, body: { name: 'ci' } });
    expect(allowed.status).toBe(201);
  });

  it('keeps a local copy of invoices whatever the order of delivery, and GET /v1/invoices lists them newest first', async () => {
    const { customerId, key } = await customerUser();
    const jan = { start: Date.UTC(2026, 0, 1) / 1000, end: Date.UTC(2026, 1, 1) / 1000 };
    const feb = { start: Date.UTC(2026, 1, 1) / 1000, end: Date.UTC(2026, 2, 1) / 1000 };
    const janId = `in_jan_${randomUUID().slice(0, 8)}`;
    const febId = `in_feb_${randomUUID().slice(0, 8)}`;
    const janOpen = invoice(customerId, { id: janId, status: 'open', periodStart: jan.start, periodEnd: jan.end, tokens: 1_250_000, mbHours: 744_500, total: 254 });
    const janPaid = { ...janOpen, status: 'paid', status_transitions: { ...janOpen.status_transitions, paid_at: feb.start + 3600 } };
    const febDraft = invoice(customerId, { id: febId, status: 'draft', periodStart: feb.start, periodEnd: feb.end, tokens: 10, mbHours: 2_500, total: 0 });

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

    // A deleted draft goes from the copy too.
    await deliver(stripeEvent('invoice.deleted', febDraft, feb.end));
    expect((await callApi('/v1/invoices', { key, baseUrl: url })).json).toMatchObject({ total: 1 });

    // Another user sees none of it.
    const other = await customerUser();
    expect((await callApi('/v1/invoices', { key: other.key, baseUrl: url })).json).toEqual({ items: [], total: 0, page: 1, per_page: 12 });
  });

  it('pages invoices 12 at a time by default', async () => {
    const { customerId, key } = await customerUser();
    for (let month = 0; month < 13; month++) {
      const start = Date.UTC(2025, month, 1) / 1000;
      const end = Date.UTC(2025, month + 1, 1) / 1000;
      const id = `in_${month}_${randomUUID().slice(0, 8)}`;
      await deliver(stripeEvent('invoice.finalized', invoice(customerId, { id, status: 'open', periodStart: start, periodEnd: end, tokens: month, mbHours: 0, total: month }), end));
    }
    const page = (await callApi('/v1/invoices', { key, baseUrl: url })).json as { items: Array<{ tokens_consumed: number }>; total: number };
    expect(page.total).toBe(13);
    expect(page.items.map((item) => item.tokens_consumed)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('ignores events of customers it does not know, and answers 200 so that Stripe stops retrying', async () => {
    const response = await deliver(
      stripeEvent('invoice.paid', invoice('cus_nobody', { id: 'in_nobody', status: 'paid', periodStart: 0, periodEnd: 60, tokens: 1, mbHours: 1, total: 1 }), 60),
    );
    expect(response.json).toEqual({ received: true, duplicate: false, effect: 'ignored' });
    expect(await api.db.selectFrom('invoices').select('id').where('stripe_invoice_id', '=', 'in_nobody').executeTakeFirst()).toBeUndefined();
  });
});
