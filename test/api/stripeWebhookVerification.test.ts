import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { STRIPE_SIGNATURE_TOLERANCE_SECONDS, verifyStripeEvent } from '../../shared/billing/stripeEventVerification.js';
import { ApiError } from '../../shared/errors/apiError.js';
import { startBillingApi, type BillingApi } from '../support/billingFixtures.js';
import { signStripeEvent } from '../../fakes/fakeStripe.js';
import { callApi } from '../support/http.js';

/*
 * What the Stripe webhook accepts before it applies anything: a signature within the tolerance either way, and a
 * signed body that is a Stripe event whose text can be stored. Unit checks of the verification, then the endpoint
 * itself on an API with webhooks on: every refusal is 400 and writes no row.
 */

const SECRET = 'whsec_unit_test_secret';
const now = () => Math.floor(Date.now() / 1000);

function event(overrides: Record<string, unknown> = {}) {
  return {
    id: `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    created: now(),
    type: 'customer.updated',
    data: { object: { id: 'cus_1', object: 'customer' } },
    ...overrides,
  };
}

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('verifyStripeEvent', () => {
  it('accepts a signed event of now, and a signature made within the tolerance either way', () => {
    const payload = JSON.stringify(event());
    expect(verifyStripeEvent(payload, signStripeEvent(payload, SECRET), SECRET).type).toBe('customer.updated');
    for (const offset of [-(STRIPE_SIGNATURE_TOLERANCE_SECONDS - 30), STRIPE_SIGNATURE_TOLERANCE_SECONDS - 30]) {
      expect(verifyStripeEvent(payload, signStripeEvent(payload, SECRET, now() + offset), SECRET).id).toBeDefined();
    }
  });

  it('refuses a signature dated outside the tolerance, in the past or in the future', () => {
    const payload = JSON.stringify(event());
    for (const offset of [-3600, 3600, STRIPE_SIGNATURE_TOLERANCE_SECONDS + 60]) {
      const error = refusal(() => verifyStripeEvent(payload, signStripeEvent(payload, SECRET, now() + offset), SECRET));
      expect([error.status, error.code], String(offset)).toEqual([400, 'bad_request']);
    }
  });

  it('refuses signed bodies that are not Stripe events: [], a scalar, an event without type or data', () => {
    const bodies = ['[]', '42', '"evt"', 'null', JSON.stringify({ id: 'evt_1', created: now() }), JSON.stringify(event({ data: [] }))];
    for (const payload of bodies) {
      const error = refusal(() => verifyStripeEvent(payload, signStripeEvent(payload, SECRET), SECRET));
      expect([error.status, error.code], payload).toEqual([400, 'bad_request']);
    }
  });

  it('refuses a signed event with text that cannot be stored, naming the field', () => {
    const payload = JSON.stringify(event({ id: 'evt_\u0000', data: { object: { name: 'lone \ud800' } } }));
    const error = refusal(() => verifyStripeEvent(payload, signStripeEvent(payload, SECRET), SECRET));
    expect(error.status).toBe(400);
    expect(error.details).toMatchObject({ fields: [{ field: 'id' }, { field: 'data.object.name' }] });
  });

  it('refuses a signed event nested deeper than any Stripe object, without overflowing the stack', () => {
    const payload = `{"id":"evt_1","type":"x","created":${now()},"data":{"object":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`;
    const error = refusal(() => verifyStripeEvent(payload, signStripeEvent(payload, SECRET), SECRET));
    expect(error.status).toBe(400);
  });
});

describe('POST /v1/webhooks/stripe with webhooks on', () => {
  let api: BillingApi;

  beforeAll(async () => {
    api = await startBillingApi({
      apiKeyHmacSecret: inject('apiKeyHmacSecret'),
      storageConnectionString: inject('storageConnectionString'),
    });
  }, 180_000);

  afterAll(async () => {
    await api?.close();
  });

  async function storedEvents(): Promise<number> {
    const row = await api.db
      .selectFrom('stripe_webhook_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  function deliver(payload: string, signature: string) {
    return callApi('/v1/webhooks/stripe', {
      method: 'POST',
      key: null,
      baseUrl: api.hosts[0]!.url,
      body: payload,
      headers: { 'Stripe-Signature': signature },
    });
  }

  it('answers 400 to signed malformed events and to a future signature, and stores nothing', async () => {
    const before = await storedEvents();
    const malformed = ['[]', JSON.stringify(event({ id: 'evt_nul\u0000' }))];
    for (const payload of malformed) {
      const response = await deliver(payload, signStripeEvent(payload, api.webhookSecret));
      expect(response.status, payload).toBe(400);
      expect((response.json as { error: { code: string } }).error.code).toBe('bad_request');
    }
    const future = JSON.stringify(event());
    const early = await deliver(future, signStripeEvent(future, api.webhookSecret, now() + 3600));
    expect(early.status).toBe(400);
    expect(await storedEvents()).toBe(before);

    // The same event, signed now, is taken: the refusals were about the delivery, not the endpoint.
    const taken = await deliver(future, signStripeEvent(future, api.webhookSecret));
    expect(taken.status).toBe(200);
    expect(await storedEvents()).toBe(before + 1);
  });
});
