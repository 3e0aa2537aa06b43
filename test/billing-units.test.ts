import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { mirrorInvoice } from '../shared/billing/invoiceMirror.js';
import { outcomeOfError } from '../shared/billing/meterEventOutcome.js';
import { storageSampleIdentifier, tokenUsageIdentifier } from '../shared/billing/meterEvents.js';
import { shiftDecimal, storageCost, storageMeterValue, tokensCost } from '../shared/billing/pricing.js';
import { calendarMonthOf, unsampledByteHours } from '../shared/billing/usageService.js';
import { loadConfig, timerSchedules } from '../shared/config.js';
import { isDependencyOutage } from '../shared/errors/dependencyOutage.js';
import { parseStripeForm } from './support/fakeStripe.js';

describe('prices and costs', () => {
  it('prices tokens exactly, in whole minor units rounded half up', () => {
    expect(tokensCost(1_700_000, '200')).toBe(340);
    expect(tokensCost(2_500, '200')).toBe(1); // 0.5 -> 1
    expect(tokensCost(2_499, '200')).toBe(0);
    expect(tokensCost(123_456_789_012, '0.75')).toBe(92_593); // 92592.59...
    expect(storageCost(100_000.5, '0.005')).toBe(500);
  });

  it('turns prices into Stripe unit amounts without floating point', () => {
    expect(shiftDecimal('200', 6)).toBe('0.0002');
    expect(shiftDecimal('0.005', 3)).toBe('0.000005');
    expect(shiftDecimal('12.5', 0)).toBe('12.5');
    expect(shiftDecimal('1000000', 6)).toBe('1');
  });

  it('sends storage as whole MB-hours', () => {
    expect(storageMeterValue(2_500_400_000)).toBe(2500);
    expect(storageMeterValue(499_999)).toBe(0);
    expect(storageMeterValue(500_000)).toBe(1);
  });
});

describe('meter event identifiers', () => {
  it('derive from the row alone, within Stripe\'s 100 characters', () => {
    const id = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
    expect(tokenUsageIdentifier(id)).toBe(`tracepipe-tokens-${id}`);
    const storage = storageSampleIdentifier(id, new Date('2026-02-19T10:00:00Z'));
    expect(storage).toBe(`tracepipe-storage-${id}-2026021910`);
    expect(storage.length).toBeLessThanOrEqual(100);
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

  it('counts Stripe outages as dependency outages (503), not bugs', () => {
    expect(isDependencyOutage(stripeError('StripeConnectionError', undefined))).toBe(true);
    expect(isDependencyOutage(stripeError('StripeAPIError', 502))).toBe(true);
    expect(isDependencyOutage(stripeError('StripeRateLimitError', 429))).toBe(true);
    expect(isDependencyOutage(stripeError('StripeInvalidRequestError', 400))).toBe(false);
    expect(isDependencyOutage(stripeError('StripeAuthenticationError', 401))).toBe(false);
  });
});

describe('the usage period', () => {
  it('is the calendar month in UTC, December into January', () => {
    expect(calendarMonthOf(new Date('2026-12-31T23:59:59.999Z'))).toEqual({
      start: new Date('2026-12-01T00:00:00Z'),
      end: new Date('2027-01-01T00:00:00Z'),
    });
  });

  it('counts what is stored now from the end of the last sample, never before the month or the user', () => {
    const monthStart = new Date('2026-02-01T00:00:00Z');
    const now = new Date('2026-02-10T10:30:00Z');
    const base = { sampledByteHours: 0, sessionBytes: 1e9, exampleBytes: 0, sessionsUploaded: 0, examplesGenerated: 0 };
    expect(unsampledByteHours({ ...base, lastSampleHour: new Date('2026-02-10T09:00:00Z'), userCreatedAt: null }, monthStart, now)).toBe(0.5e9);
    expect(unsampledByteHours({ ...base, lastSampleHour: null, userCreatedAt: new Date('2026-02-10T08:45:00Z') }, monthStart, now)).toBe(2.5e9);
    expect(unsampledByteHours({ ...base, lastSampleHour: new Date('2026-01-20T00:00:00Z'), userCreatedAt: null }, monthStart, now)).toBe(
      (9 * 24 + 10.5) * 1e9,
    );
  });
});

describe('the local copy of an invoice', () => {
  const prices = { tokens: 'price_t', storage: 'price_s' };
  const line = (price: string, quantity: number, start: number, end: number) => ({
    pricing: { price_details: { price } },
    quantity,
    quantity_decimal: null,
    period: { start, end },
  });

  it('takes quantities and period from the metered lines, and reads uncollectible as open', () => {
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
        lines: { data: [line('price_t', 1000, 100, 200), line('price_s', 2500, 100, 200), line('price_other', 9, 0, 900)] },
      } as unknown as Stripe.Invoice,
      prices,
    );
    expect(mirrored).toEqual({
      stripeInvoiceId: 'in_1',
      customerId: 'cus_1',
      periodStart: new Date(100_000),
      periodEnd: new Date(200_000),
      tokensConsumed: 1000,
      storageGbHours: 2.5,
      totalAmount: 1234,
      currency: 'usd',
      status: 'open',
      paidAt: null,
      url: null,
    });
  });

  it('falls back to the invoice\'s own period without metered lines', () => {
    const mirrored = mirrorInvoice(
      { id: 'in_2', customer: 'cus_2', currency: 'usd', status: 'paid', total: 0, period_start: 10, period_end: 20, status_transitions: { paid_at: 30 }, lines: { data: [] } } as unknown as Stripe.Invoice,
      prices,
    );
    expect([mirrored.periodStart, mirrored.periodEnd, mirrored.paidAt, mirrored.status]).toEqual([
      new Date(10_000),
      new Date(20_000),
      new Date(30_000),
      'paid',
    ]);
  });
});

describe('billing settings', () => {
  const base = {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tracepipe',
    AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    API_KEY_HMAC_SECRET: 'x'.repeat(32),
  };

  it('have defaults, and name a bad value', () => {
    expect(loadConfig(base).billing).toEqual({
      currency: 'usd',
      tokenPricePerMillion: '200',
      storagePricePerGbHour: '0.005',
      stripeApiUrl: undefined,
      stripeTimeoutMs: 20_000,
      meterEvents: { tokens: 'tracepipe_tokens', storage: 'tracepipe_storage_mb_hours' },
      stripePriceIds: { tokens: undefined, storage: undefined },
      sync: { schedule: '0 */15 * * * *', concurrency: 8, timeBudgetSeconds: 600 },
      storageSampleSchedule: '0 1 * * * *',
    });
    expect(() => loadConfig({ ...base, BILLING_TOKEN_PRICE_PER_MILLION: '-1' })).toThrow(/BILLING_TOKEN_PRICE_PER_MILLION/);
    expect(() => loadConfig({ ...base, BILLING_CURRENCY: 'dollars' })).toThrow(/BILLING_CURRENCY/);
    expect(() => timerSchedules({ STRIPE_SYNC_SCHEDULE: '*/15 * * * *' })).toThrow(/STRIPE_SYNC_SCHEDULE .*six fields/);
    expect(timerSchedules({})).toEqual({ stripeSync: '0 */15 * * * *', storageSample: '0 1 * * * *' });
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
