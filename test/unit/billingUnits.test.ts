import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import {
  calendarMonthOf,
  parseMonth,
  periodOf,
  periodsIn,
  placeUsage,
  type SubscriptionSpan,
} from '../../shared/billing/billingPeriods.js';
import { costRefusalOf } from '../../shared/billing/costPermission.js';
import { mirrorInvoice } from '../../shared/billing/invoiceMirror.js';
import { outcomeOfError, retryDelayMs } from '../../shared/billing/meterEventOutcome.js';
import { parseMeterEventIdentifier, storageSampleIdentifier, tokenUsageIdentifier } from '../../shared/billing/meterEvents.js';
import { configuredUnitPrices, lineAmount, shiftDecimal, storageMeterValue, tokensCost } from '../../shared/billing/pricing.js';
import { loadConfig, timerSchedules } from '../../shared/config.js';
import { isDependencyOutage } from '../../shared/errors/dependencyOutage.js';
import { parseStripeForm, roundedLineAmount } from '../../fakes/fakeStripe.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('prices and costs', () => {
  it('prices tokens exactly, in whole minor units rounded half up', () => {
    expect(tokensCost(1_700_000, '200')).toBe(340);
    expect(tokensCost(2_500, '200')).toBe(1); // 0.5 -> 1
    expect(tokensCost(2_499, '200')).toBe(0);
    expect(tokensCost(123_456_789_012, '0.75')).toBe(92_593); // 92592.59...
  });

  it('prices a line as Stripe does: quantity times unit_amount_decimal, rounded half up, as the fake Stripe bills it', () => {
    // 134.45 MB stored for 744 hours: 100,030,800 KB-hours at 0.000000005 a KB-hour is 0.500154 -> 1 cent.
    const kbHours = 134_450 * 744;
    expect(lineAmount(kbHours, '0.000000005')).toBe(1);
    // The same in whole MB-hours (134 an hour), as storage used to be sent, lost the cent: 0.498 -> 0.
    expect(lineAmount(134 * 744, '0.000005')).toBe(0);
    for (const [quantity, unit] of [
      [kbHours, '0.000000005'],
      [2_500, '0.0002'],
      [2_499, '0.0002'],
      [123_456_789_012, '0.00000075'],
      [0, '12'],
    ] as const) {
      expect(lineAmount(quantity, unit)).toBe(roundedLineAmount(quantity, unit));
    }
  });

  it('turns prices into Stripe unit amounts per token and per KB-hour without floating point', () => {
    expect(shiftDecimal('200', 6)).toBe('0.0002');
    expect(shiftDecimal('0.005', 6)).toBe('0.000000005');
    expect(shiftDecimal('12.5', 0)).toBe('12.5');
    expect(configuredUnitPrices(loadConfig(base).billing)).toEqual({ tokens: '0.0002', storage: '0.000000005' });
  });

  it('sends storage as whole KB-hours, rounded half up, hour by hour', () => {
    expect(storageMeterValue(2_500_400_000)).toBe(2_500_400);
    expect(storageMeterValue(499)).toBe(0);
    expect(storageMeterValue(500)).toBe(1);
  });
});

describe('meter event identifiers', () => {
  it('derive from the row alone, within Stripe\'s 100 characters, and name their row back', () => {
    const id = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
    expect(tokenUsageIdentifier(id)).toBe(`tracepipe-tokens-${id}`);
    const storage = storageSampleIdentifier(id, new Date('2026-02-19T10:00:00Z'));
    expect(storage).toBe(`tracepipe-storage-${id}-2026021910`);
    expect(`${storage}-r12`.length).toBeLessThanOrEqual(100);
    expect(parseMeterEventIdentifier(`tracepipe-tokens-${id}`)).toEqual({ kind: 'tokens', base: `tracepipe-tokens-${id}`, resend: 0, exampleId: id });
    expect(parseMeterEventIdentifier(`${storage}-r2`)).toEqual({
      kind: 'storage',
      base: storage,
      resend: 2,
      userId: id,
      hour: new Date('2026-02-19T10:00:00Z'),
    });
    expect(parseMeterEventIdentifier('someone-else-123')).toBeUndefined();
  });
});

describe('what a failed meter event call means', () => {
  const stripeError = (type: string, statusCode: number | undefined, extra: Record<string, unknown> = {}) => ({
    type,
    statusCode,
    message: 'x',
    ...extra,
  });

  it('reads Stripe\'s answers', () => {
    expect(outcomeOfError(stripeError('StripeInvalidRequestError', 400, { code: 'duplicate_meter_event' }))).toEqual({
      kind: 'already_in_stripe',
    });
    expect(
      outcomeOfError(stripeError('StripeInvalidRequestError', 400, { message: 'An event already exists with identifier a.' })),
    ).toEqual({ kind: 'already_in_stripe' });
    expect(outcomeOfError(stripeError('StripeRateLimitError', 429))?.kind).toBe('rate_limited');
    expect(outcomeOfError(stripeError('StripeAPIError', 500))?.kind).toBe('unknown');
    expect(outcomeOfError(stripeError('StripeConnectionError', undefined))?.kind).toBe('unknown');
    expect(outcomeOfError(stripeError('StripeAuthenticationError', 401))?.kind).toBe('configuration');
    expect(outcomeOfError(stripeError('StripeInvalidRequestError', 409))?.kind).toBe('not_processed');
    expect(outcomeOfError(stripeError('StripeInvalidRequestError', 400, { code: 'meter_event_invalid_value' }))).toEqual({
      kind: 'rejected',
      error: '400 meter_event_invalid_value: x',
    });
    expect(outcomeOfError(new TypeError('a bug'))).toBeNull();
  });

  it('tries again, later and later, what a configuration fix heals: an archived or missing meter', () => {
    expect(outcomeOfError(stripeError('StripeInvalidRequestError', 400, { code: 'resource_missing', param: 'event_name' }))?.kind).toBe(
      'retryable',
    );
    expect(outcomeOfError(stripeError('StripeInvalidRequestError', 400, { code: 'archived_meter' }))?.kind).toBe('retryable');
    expect(outcomeOfError(stripeError('StripeInvalidRequestError', 400, { code: 'resource_missing', param: 'payload' }))?.kind).toBe(
      'rejected',
    );
    expect([1, 2, 3, 6, 10].map(retryDelayMs)).toEqual([HOUR, 2 * HOUR, 4 * HOUR, 24 * HOUR, 24 * HOUR]);
  });

  it('counts Stripe outages as dependency outages (503), not bugs', () => {
    expect(isDependencyOutage(stripeError('StripeConnectionError', undefined))).toBe(true);
    expect(isDependencyOutage(stripeError('StripeAPIError', 502))).toBe(true);
    expect(isDependencyOutage(stripeError('StripeRateLimitError', 429))).toBe(true);
    expect(isDependencyOutage(stripeError('StripeInvalidRequestError', 400))).toBe(false);
    expect(isDependencyOutage(stripeError('StripeAuthenticationError', 401))).toBe(false);
  });
});

describe('billing periods', () => {
  const span = (start: string, end: string | null = null): SubscriptionSpan => ({
    id: `sub_${start}`,
    startedAt: new Date(start),
    endedAt: end ? new Date(end) : null,
    prices: {},
  });

  it('are calendar months in UTC, December into January, and YYYY-MM names one', () => {
    expect(calendarMonthOf(new Date('2026-12-31T23:59:59.999Z'))).toEqual({
      start: new Date('2026-12-01T00:00:00Z'),
      end: new Date('2027-01-01T00:00:00Z'),
    });
    expect(parseMonth('2026-02')).toEqual({ start: new Date('2026-02-01T00:00:00Z'), end: new Date('2026-03-01T00:00:00Z') });
    expect(parseMonth('2026-13')).toBeUndefined();
  });

  it('clip to the subscription: the first runs from its creation to the next 1st, the last to its end', () => {
    const card = span('2026-02-14T10:17:00Z', '2026-04-09T08:00:00Z');
    expect(periodOf(card, new Date('2026-02-20T00:00:00Z'))).toEqual({ start: card.startedAt, end: new Date('2026-03-01T00:00:00Z') });
    expect(periodOf(card, new Date('2026-03-20T00:00:00Z'))).toEqual({
      start: new Date('2026-03-01T00:00:00Z'),
      end: new Date('2026-04-01T00:00:00Z'),
    });
    expect(periodOf(card, new Date('2026-04-02T00:00:00Z'))).toEqual({ start: new Date('2026-04-01T00:00:00Z'), end: card.endedAt });
    const again = span('2026-04-20T00:00:00Z');
    const april = periodsIn([card, again], calendarMonthOf(new Date('2026-04-05T00:00:00Z')));
    expect(april.map((period) => [period.start.toISOString(), period.end.toISOString()])).toEqual([
      ['2026-04-01T00:00:00.000Z', '2026-04-09T08:00:00.000Z'],
      ['2026-04-20T00:00:00.000Z', '2026-05-01T00:00:00.000Z'],
    ]);
  });

  it('place usage in its own period while the invoice can take it, then carry it into the open one', () => {
    const spans = [span('2026-01-10T00:00:00Z')];
    const usedAt = new Date('2026-01-31T23:30:00Z');
    const grace = HOUR;
    // Until ten minutes before the invoice of January finalizes (1 February, 01:00), January bills it.
    expect(placeUsage(spans, usedAt, new Date('2026-02-01T00:49:00Z'), grace)).toMatchObject({ kind: 'own', at: usedAt });
    // Later, it goes to February, with the time it is sent.
    const late = new Date('2026-02-03T09:00:00Z');
    expect(placeUsage(spans, usedAt, late, grace)).toMatchObject({
      kind: 'carried',
      at: late,
      period: { start: new Date('2026-02-01T00:00:00Z'), end: new Date('2026-03-01T00:00:00Z') },
    });
    // Before the subscription: not billed. Past a period with no subscription open now: stranded.
    expect(placeUsage(spans, new Date('2026-01-09T12:00:00Z'), late, grace)).toEqual({ kind: 'outside' });
    const ended = [span('2026-01-10T00:00:00Z', '2026-01-20T00:00:00Z')];
    expect(placeUsage(ended, new Date('2026-01-15T00:00:00Z'), late, grace).kind).toBe('stranded');
  });
});

describe('who may incur cost', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  const card = { default_payment_method_id: 'pm_1' };
  const subscription = (status: string, extra: { ended_at?: Date; past_due_since?: Date } = {}) => ({
    status,
    ended_at: extra.ended_at ?? null,
    past_due_since: extra.past_due_since ?? null,
  });

  it('an active subscription with a card may; no card, or a subscription that ended or does not bill, may not', () => {
    expect(costRefusalOf(card, subscription('active'), now, 7)).toBeNull();
    expect(costRefusalOf(card, subscription('trialing'), now, 7)).toBeNull();
    expect(costRefusalOf({ default_payment_method_id: null }, subscription('active'), now, 7)).toEqual({ reason: 'payment_method_required' });
    for (const status of ['canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused']) {
      expect(costRefusalOf(card, subscription(status), now, 7)).toEqual({ reason: 'subscription_inactive', status });
    }
    expect(costRefusalOf(card, subscription('active', { ended_at: new Date(now.getTime() - 1) }), now, 7)).toEqual({
      reason: 'subscription_inactive',
      status: 'active',
    });
  });

  it('past_due may for the grace days since it was first seen past due, then not', () => {
    expect(costRefusalOf(card, subscription('past_due', { past_due_since: new Date(now.getTime() - 6.9 * DAY) }), now, 7)).toBeNull();
    const since = new Date(now.getTime() - 7 * DAY);
    expect(costRefusalOf(card, subscription('past_due', { past_due_since: since }), now, 7)).toEqual({
      reason: 'past_due_grace_expired',
      status: 'past_due',
      past_due_since: since.toISOString(),
    });
    expect(costRefusalOf(card, subscription('past_due', { past_due_since: now }), now, 0)?.reason).toBe('past_due_grace_expired');
  });
});

describe('the local copy of an invoice', () => {
  const kinds = new Map([
    ['price_t', 'tokens' as const],
    ['price_s', 'storage' as const],
  ]);
  const line = (price: string, quantity: number, start: number, end: number) => ({
    pricing: { price_details: { price } },
    quantity,
    quantity_decimal: null,
    period: { start, end },
  });

  it('takes quantities and period from the metered lines, by the meter their price bills, and keeps uncollectible', () => {
    const lines = [line('price_t', 1000, 100, 200), line('price_s', 2_500_000, 100, 200), line('price_other', 9, 0, 900)];
    const mirrored = mirrorInvoice(
      {
        id: 'in_1',
        customer: { id: 'cus_1' },
        currency: 'USD',
        status: 'uncollectible',
        total: 1234,
        period_start: 500,
        period_end: 500,
        hosted_invoice_url: null,
        status_transitions: { paid_at: null },
        parent: { subscription_details: { subscription: 'sub_1' } },
      } as unknown as Stripe.Invoice,
      lines as unknown as Stripe.InvoiceLineItem[],
      (price) => kinds.get(price),
    );
    expect(mirrored).toEqual({
      stripe_invoice_id: 'in_1',
      stripe_subscription_id: 'sub_1',
      period_start: new Date(100_000),
      period_end: new Date(200_000),
      tokens_consumed: 1000,
      storage_gb_hours: 2.5,
      total_amount: 1234,
      currency: 'usd',
      status: 'uncollectible',
      paid_at: null,
      stripe_invoice_url: null,
    });
  });

  it('falls back to the invoice\'s own period without metered lines', () => {
    const mirrored = mirrorInvoice(
      { id: 'in_2', customer: 'cus_2', currency: 'usd', status: 'paid', total: 0, period_start: 10, period_end: 20, status_transitions: { paid_at: 30 } } as unknown as Stripe.Invoice,
      [],
      () => undefined,
    );
    expect([mirrored.period_start, mirrored.period_end, mirrored.paid_at, mirrored.status, mirrored.stripe_subscription_id]).toEqual([
      new Date(10_000),
      new Date(20_000),
      new Date(30_000),
      'paid',
      null,
    ]);
  });
});

const base = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tracepipe',
  AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  API_KEY_HMAC_SECRET: 'x'.repeat(32),
};

describe('billing settings', () => {
  it('have defaults, and name a bad value', () => {
    expect(loadConfig(base).billing).toEqual({
      currency: 'usd',
      tokenPricePerMillion: '200',
      storagePricePerGbHour: '0.005',
      stripeApiUrl: undefined,
      stripeTimeoutMs: 20_000,
      meterEvents: { tokens: 'tracepipe_tokens', storage: 'tracepipe_storage_kb_hours' },
      stripePriceIds: { tokens: undefined, storage: undefined },
      sync: { schedule: '0 */15 * * * *', concurrency: 8, timeBudgetSeconds: 600 },
      storageSampleSchedule: '0 1 * * * *',
      periodCloseSchedule: '0 */10 * * * *',
      reconcileSchedule: '0 30 2 * * *',
      pastDueGraceDays: 7,
      invoiceGraceMinutes: 60,
    });
    expect(() => loadConfig({ ...base, BILLING_TOKEN_PRICE_PER_MILLION: '-1' })).toThrow(/BILLING_TOKEN_PRICE_PER_MILLION/);
    // Seven decimals would be 13 once divided by 10^6: more than Stripe's unit_amount_decimal takes.
    expect(() => loadConfig({ ...base, BILLING_STORAGE_PRICE_PER_GB_HOUR: '0.0000001' })).toThrow(/BILLING_STORAGE_PRICE_PER_GB_HOUR/);
    expect(() => loadConfig({ ...base, BILLING_CURRENCY: 'dollars' })).toThrow(/BILLING_CURRENCY/);
    expect(() => loadConfig({ ...base, BILLING_INVOICE_GRACE_MINUTES: '5000' })).toThrow(/BILLING_INVOICE_GRACE_MINUTES .*72 hours/);
    expect(() => timerSchedules({ STRIPE_SYNC_SCHEDULE: '*/15 * * * *' })).toThrow(/STRIPE_SYNC_SCHEDULE .*six fields/);
    expect(timerSchedules({})).toEqual({
      stripeSync: '0 */15 * * * *',
      storageSample: '0 1 * * * *',
      periodClose: '0 */10 * * * *',
      reconcile: '0 30 2 * * *',
      webhookDelivery: '*/5 * * * * *',
      budgetCheck: '0 */5 * * * *',
    });
  });

  it('refuse Stripe without the two metered prices, naming them', () => {
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_1' })).toThrow(/STRIPE_TOKENS_PRICE_ID is required with STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_1', STRIPE_TOKENS_PRICE_ID: 'price_t' })).toThrow(/STRIPE_STORAGE_PRICE_ID/);
    expect(loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_1', STRIPE_TOKENS_PRICE_ID: 'price_t', STRIPE_STORAGE_PRICE_ID: 'price_s' }).stripe).toEqual({
      secretKey: 'sk_test_1',
      webhookSecret: undefined,
      eventsWebhookSecret: undefined,
    });
  });
});

describe('the fake Stripe reads forms as Stripe does', () => {
  it('nests brackets into objects and arrays', () => {
    expect(parseStripeForm('a=1&payload%5Bvalue%5D=25&items%5B0%5D%5Bprice%5D=p1&items%5B1%5D%5Bprice%5D=p2')).toEqual({
      a: '1',
      payload: { value: '25' },
      items: [{ price: 'p1' }, { price: 'p2' }],
    });
  });
});
