import { BlobServiceClient } from '@azure/storage-blob';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeBillingPeriods } from '../../shared/billing/periodClose.js';
import { sampleStorage } from '../../shared/billing/storageSampler.js';
import { createStripeClient } from '../../shared/billing/stripeClient.js';
import { syncUsageToStripe } from '../../shared/billing/stripeSync.js';
import { getMonthlyUsage } from '../../shared/billing/usageService.js';
import { loadConfig, type Config } from '../../shared/config.js';
import { SESSIONS_CONTAINER } from '../../shared/storage/layout.js';
import { addApiKey, addCardThroughApi, addCompletedExample, addSession, addUser, createUsageFixture, startBillingApi, type BillingApi, type UsageFixture } from '../support/billingFixtures.js';
import { callApi } from '../support/http.js';
import { TEST_METER_EVENTS } from '../../fakes/fakeStripe.js';

/*
 * A month of billing, simulated end to end: the app's timers (storage sampler, Stripe sync, period close) run in
 * this process at simulated times against the test database, the fake Stripe's clock moves with them, and its
 * webhooks go to a host of this file's own. In the month: usage before the card (not billed), the card added
 * mid-month (the first, partial period), tokens and storage through the month (a 134.45 MB trace kept all
 * along, a 10 GB one deleted by the lifecycle rule, one whose row was removed), a card change (the first card
 * declines), a sampler that missed a day, and two days of Stripe answering 500. At the month's end Stripe drafts
 * the invoice, the period close sends the last hour and compares, the invoice finalizes after the grace period
 * and is paid with the second card; and its total equals, to the cent, the estimated_cost GET /v1/usage showed
 * for the month.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

let api: BillingApi;
let url: string;
let fixture: UsageFixture;
let blobs: BlobServiceClient;
let meterStripe: Stripe;
let config: Config;
/** The simulated month: the one after next, so that the fake's clock only moves forward. */
let monthStart: Date;
let monthEnd: Date;

beforeAll(async () => {
  api = await startBillingApi({
    apiKeyHmacSecret: inject('apiKeyHmacSecret'),
    storageConnectionString: inject('storageConnectionString'),
  });
  url = api.hosts[0]!.url;
  fixture = await createUsageFixture(api.db);
  blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
  meterStripe = createStripeClient({ secretKey: api.fake.secretKey, apiUrl: api.fake.url, timeoutMs: 10_000 }, { retries: 0 });
  config = loadConfig({
    DATABASE_URL: api.databaseUrl,
    AZURE_STORAGE_CONNECTION_STRING: inject('storageConnectionString'),
    API_KEY_HMAC_SECRET: inject('apiKeyHmacSecret'),
    STRIPE_SECRET_KEY: api.fake.secretKey,
    STRIPE_API_URL: api.fake.url,
    STRIPE_TOKENS_METER_EVENT: TEST_METER_EVENTS.tokens,
    STRIPE_STORAGE_METER_EVENT: TEST_METER_EVENTS.storage,
    STRIPE_TOKENS_PRICE_ID: api.prices.tokens,
    STRIPE_STORAGE_PRICE_ID: api.prices.storage,
  });
  const now = new Date();
  monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
  monthEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 3, 1));
}, 180_000);

afterAll(async () => {
  await api?.close();
});

/** Day `day` of the simulated month at hh:mm UTC. */
function at(day: number, hour = 0, minute = 0): Date {
  return new Date(Date.UTC(monthStart.getUTCFullYear(), monthStart.getUTCMonth(), day, hour, minute));
}

function keyFor(userId: string): Promise<string> {
  return addApiKey(api.db, userId, inject('apiKeyHmacSecret'));
}

function addCard(key: string, options: { declines?: boolean } = {}): Promise<string> {
  return addCardThroughApi(api, key, options);
}

function runSampler(now: Date) {
  return sampleStorage(api.db, blobs, silent, now);
}

function runSync(now: Date) {
  const { billing } = config;
  return syncUsageToStripe(
    api.db,
    meterStripe,
    {
      eventNames: billing.meterEvents,
      concurrency: 4,
      timeBudgetMs: 60_000,
      invoiceGraceMs: billing.invoiceGraceMinutes * MINUTE,
      clock: () => now,
    },
    silent,
  );
}

interface Usage {
  tokens: { total: number; billable: number; not_billable: number };
  storage: { gb_hours: number; billable_gb_hours: number; not_billable_gb_hours: number };
  billing: { invoice_periods: Array<{ start: string; end: string }> };
  estimated_cost: { tokens: number; storage: number; total: number };
}

describe('a month of billing', () => {
  it('invoices, to the cent, the estimated_cost GET /v1/usage showed for the month', { timeout: 240_000 }, async () => {
    const customerId = api.fake.addCustomer();
    const userId = await addUser(api.db, customerId);
    const key = await keyFor(userId);
    await api.db.insertInto('storage_sampler_state').values({ sampled_until: at(9) }).execute();
    const tokens = (when: Date, inputTokens: number, outputTokens: number) =>
      addCompletedExample(api.db, { userId, fixture, inputTokens, outputTokens, recordedAt: when });

    // Before the card: a trace stored and tokens used, never billed.
    await api.fake.advanceTo(at(10, 9).getTime());
    await addSession(api.db, { userId, suiteId: fixture.suiteId, sizeBytes: 1_500_000_000, createdAt: at(10, 9, 30), blobs });
    await tokens(at(12, 10), 40_000, 10_000);

    // The 14th, 10:17: the first card, which will decline. The subscription starts now; its first period ends on
    // the 1st of next month.
    await api.fake.advanceTo(at(14, 10, 17).getTime());
    const declining = await addCard(key, { declines: true });
    const [subscription] = api.fake.subscriptionsOf(customerId);
    expect(new Date(subscription!.start * 1000)).toEqual(at(14, 10, 17));
    expect(new Date(subscription!.anchor * 1000)).toEqual(monthEnd);

    // Usage through the month.
    await addSession(api.db, { userId, suiteId: fixture.suiteId, sizeBytes: 134_450_000, createdAt: at(14, 11, 5), blobs });
    const big = await addSession(api.db, { userId, suiteId: fixture.suiteId, sizeBytes: 10_000_000_000, createdAt: at(15, 8, 20), blobs });
    const removed = await addSession(api.db, { userId, suiteId: fixture.suiteId, sizeBytes: 2_345_678_901, createdAt: at(16, 3, 33), blobs });
    const schedule: Array<[number, number, number, number, number]> = [
      [14, 12, 40, 120_003, 30_001],
      [15, 9, 5, 77_777, 1_234],
      [16, 23, 59, 5_000_000, 250_000],
      [18, 7, 30, 12_345, 6_789],
      [20, 14, 10, 999_999, 1],
      [22, 13, 0, 31_337, 4_242],
      [23, 18, 45, 250_000, 125_000],
      [26, 0, 1, 2_499, 0],
    ];
    const lastDay = new Date(monthEnd.getTime() - 1).getUTCDate();
    schedule.push([lastDay, 23, 40, 3_000, 2_000]);
    const examples = schedule.map(([day, hour, minute, input, output]) => ({ when: at(day, hour, minute), input, output }));

    // Day by day: the sampler every six hours (but it missed the 17th), the sync at 02:00 (but Stripe answered
    // 500 on the 22nd and 23rd), the lifecycle rule deleting the big trace on the 21st, a card change on the 20th,
    // and the removed session's trace gone with its row on the 25th.
    for (let time = at(14, 12).getTime(); time < monthEnd.getTime(); time += HOUR) {
      const now = new Date(time);
      await api.fake.advanceTo(time);
      const day = now.getUTCDate();
      const hour = now.getUTCHours();
      // Tokens are recorded when their example completes: those of the hour that just passed.
      for (const example of examples.filter((e) => e.when.getTime() < time && e.when.getTime() >= time - HOUR)) {
        await tokens(example.when, example.input, example.output);
      }
      if (day === 20 && hour === 12) await addCard(key);
      if (day === 21 && hour === 6) {
        await blobs.getContainerClient(SESSIONS_CONTAINER).getBlockBlobClient(`${big}/original/trace.jsonl`).delete();
      }
      if (day === 25 && hour === 9) {
        await api.db.updateTable('sessions').set({ status: 'invalid', size_bytes: null, stored_bytes: 0, updated_at: new Date(time + 17 * MINUTE) }).where('id', '=', removed).execute();
      }
      if (hour % 6 === 1 && day !== 17) await runSampler(new Date(time));
      if (hour === 2) {
        const outage = day === 22 || day === 23;
        api.fake.setMeterEventMode(outage ? { kind: 'error', status: 500 } : { kind: 'normal' });
        const run = await runSync(now);
        expect(run.outcome, JSON.stringify(run.details)).toBe(outage ? 'backed_off' : 'completed');
      }
    }
    api.fake.setMeterEventMode({ kind: 'normal' });

    // The month ends: Stripe drafts the invoice, the period close sends the last hour and compares (inside the
    // grace period), then the invoice finalizes and is charged.
    await api.fake.advanceTo(monthEnd.getTime() + MINUTE);
    for (const example of examples.filter((e) => e.when.getTime() >= monthEnd.getTime() - HOUR)) {
      await tokens(example.when, example.input, example.output);
    }
    const draft = api.fake.invoices(customerId);
    expect(draft).toHaveLength(1);
    expect(draft[0]!.status).toBe('draft');
    const report = await closeBillingPeriods(
      { db: api.db, stripe: meterStripe, blobs, billing: config.billing, log: silent },
      new Date(monthEnd.getTime() + 2 * MINUTE),
    );
    expect(report).toMatchObject({ periods: 1, discrepancies: 0 });
    expect(report.reconciled + report.pending).toBe(1);
    await api.fake.advanceTo(monthEnd.getTime() + 2 * HOUR);
    const [invoice] = api.fake.invoices(customerId);
    expect(invoice).toMatchObject({ status: 'paid', periodStart: subscription!.start, periodEnd: monthEnd.getTime() / 1000 });
    // Held for the configured grace: finalized an hour after the period, with the last hour in it.
    expect(invoice!.finalizedAt).toBe(monthEnd.getTime() / 1000 + 3600);
    // Charged to the card the customer uses now, not the first one.
    expect(invoice!.payments).toEqual([expect.objectContaining({ outcome: 'succeeded', paymentMethod: expect.not.stringMatching(declining) })]);

    // What the API shows for the month, over HTTP, is what Stripe invoiced.
    const month = monthStart.toISOString().slice(0, 7);
    const response = await callApi(`/v1/usage?period=${month}`, { key, baseUrl: url });
    expect(response.status).toBe(200);
    const usage = response.json as Usage;
    expect(usage.estimated_cost.total).toBe(invoice!.total);
    const [tokensLine, storageLine] = [api.prices.tokens, api.prices.storage].map((price) => invoice!.lines.find((line) => line.price === price)!);
    expect(usage.estimated_cost.tokens).toBe(tokensLine!.amount);
    expect(usage.estimated_cost.storage).toBe(storageLine!.amount);
    expect(usage.tokens.billable).toBe(tokensLine!.quantity);
    expect(Math.round(usage.storage.billable_gb_hours * 1e6)).toBe(storageLine!.quantity);
    expect(usage.billing.invoice_periods).toEqual([{ start: at(14, 10, 17).toISOString(), end: monthEnd.toISOString() }]);
    // The usage before the card is shown, apart.
    expect(usage.tokens.not_billable).toBe(50_000);
    expect(usage.tokens.total).toBe(usage.tokens.billable + 50_000);
    expect(usage.storage.not_billable_gb_hours).toBeGreaterThan(1.5 * (24 * 4));
    expect(usage.estimated_cost.total).toBeGreaterThan(0);

    // And what the API showed at the moment the period ended (computed then, in this process) was the same.
    const atClose = await getMonthlyUsage(
      api.db,
      config,
      { userId, apiKeyId: null, scopes: ['api'], suiteIds: null },
      { period: month },
      new Date(monthEnd.getTime() + 5 * MINUTE),
    );
    expect(atClose.estimated_cost).toEqual(usage.estimated_cost);

    // The invoice's local copy says the same.
    const invoices = await callApi('/v1/invoices', { key, baseUrl: url });
    expect(invoices.json).toMatchObject({
      total: 1,
      items: [{ total_amount: invoice!.total, status: 'paid', tokens_consumed: tokensLine!.quantity }],
    });
    // Nothing sent twice, nothing left behind.
    const identifiers = api.fake.meterEvents.filter((event) => event.customer === customerId).map((event) => event.identifier);
    expect(new Set(identifiers).size).toBe(identifiers.length);
    const left = await api.db
      .selectFrom('token_usage')
      .select('id')
      .where('user_id', '=', userId)
      .where('stripe_sent_at', 'is', null)
      .execute();
    expect(left).toEqual([]);
  });
});
