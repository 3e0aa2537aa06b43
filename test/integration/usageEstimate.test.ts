import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuthContext } from '../../shared/auth/authenticate.js';
import { BYTES_PER_GB, KB_PER_GB, lineAmount, storageMeterValue } from '../../shared/billing/pricing.js';
import { sampleStorage } from '../../shared/billing/storageSampler.js';
import { getMonthlyUsage } from '../../shared/billing/usageService.js';
import { loadConfig, type Config } from '../../shared/config.js';
import { addCompletedExample, addSession, addSubscription, addUser, createUsageFixture, type UsageFixture } from '../support/billingFixtures.js';
import { useTestDatabase } from '../support/database.js';

/*
 * What GET /v1/usage says is billable, and what it estimates, with billing on: the service on a database of this
 * file's own, at chosen times (the HTTP route, the invoice it matches and the month it simulates are in
 * test/api/billingMonth.test.ts). Each row is placed where the Stripe sync will bill it.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('the usage estimate, with billing on', () => {
  const database = useTestDatabase();
  let config: Config;
  let fixture: UsageFixture;
  let blobs: BlobServiceClient;

  beforeAll(async () => {
    config = loadConfig({
      DATABASE_URL: 'postgres://unused@127.0.0.1/unused',
      AZURE_STORAGE_CONNECTION_STRING: inject('storageConnectionString'),
      API_KEY_HMAC_SECRET: 'x'.repeat(32),
      STRIPE_SECRET_KEY: 'sk_test_estimate',
      STRIPE_TOKENS_PRICE_ID: 'price_t',
      STRIPE_STORAGE_PRICE_ID: 'price_s',
    });
    fixture = await createUsageFixture(database.db());
    blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
  });

  function auth(userId: string): AuthContext {
    return { userId, apiKeyId: null, scopes: ['api'], suiteIds: null };
  }

  const tokensAt = (userId: string, recordedAt: Date, tokens: number) =>
    addCompletedExample(database.db(), { userId, fixture, inputTokens: tokens, outputTokens: 0, recordedAt });

  it('bills each subscription period at its own prices, and shows usage before and between subscriptions as not billable', async () => {
    const db = database.db();
    const userId = await addUser(db, 'cus_estimate_1');
    const january = (day: number, hour = 12) => new Date(Date.UTC(2026, 0, day, hour));
    await addSubscription(db, { userId, startedAt: january(10, 9), endedAt: january(20, 0), prices: { tokens: '0.0002', storage: '0.000000005' } });
    await addSubscription(db, { userId, startedAt: january(25, 0), prices: { tokens: '0.0004', storage: '0.00000001' } });
    await tokensAt(userId, january(5), 1_000_000); // before the first
    const first = await tokensAt(userId, january(12), 2_222_222); // first period, sent in time
    await db.updateTable('token_usage').set({ stripe_sent_at: january(12, 13), stripe_resolution: 'sent' }).where('id', '=', first.usageId).execute();
    await tokensAt(userId, january(22), 3_000_000); // between the two
    await tokensAt(userId, january(28), 1_234_567); // second period

    const usage = await getMonthlyUsage(db, config, auth(userId), {}, january(29));
    expect(usage.tokens).toMatchObject({ total: 7_456_789, billable: 2_222_222 + 1_234_567, not_billable: 4_000_000 });
    expect(usage.billing.invoice_periods).toEqual([
      { start: january(10, 9).toISOString(), end: january(20, 0).toISOString() },
      { start: january(25, 0).toISOString(), end: '2026-02-01T00:00:00.000Z' },
    ]);
    // One invoice each, each line rounded: 444.44 -> 444, and 493.83 -> 494.
    expect(usage.estimated_cost).toEqual({ tokens: 444 + 494, storage: 0, total: 938, currency: 'usd' });
  });

  it('bills usage that missed its period\'s invoice in the month it is carried into, and failed usage nowhere', async () => {
    const db = database.db();
    const userId = await addUser(db, 'cus_estimate_2');
    await addSubscription(db, { userId, startedAt: new Date(Date.UTC(2025, 11, 1)) });
    // Unsent when December's invoice finalized (1 January, 01:00): it goes out in January.
    await tokensAt(userId, new Date(Date.UTC(2025, 11, 31, 23, 50)), 500_000);
    // Carried already: sent on 2 January with that day's time.
    const { usageId } = await tokensAt(userId, new Date(Date.UTC(2025, 11, 30)), 70_000);
    await db
      .updateTable('token_usage')
      .set({ stripe_sent_at: new Date(), stripe_resolution: 'sent', stripe_timestamp: new Date(Date.UTC(2026, 0, 2)) })
      .where('id', '=', usageId)
      .execute();
    // Refused for good in January: not on any invoice until someone resends it.
    const refused = await tokensAt(userId, new Date(Date.UTC(2026, 0, 2)), 9_000);
    await db
      .updateTable('token_usage')
      .set({ stripe_failed_at: new Date(), stripe_resolution: 'rejected', stripe_error: '400 x' })
      .where('id', '=', refused.usageId)
      .execute();
    await tokensAt(userId, new Date(Date.UTC(2026, 0, 2, 5)), 1_000);
    const now = new Date(Date.UTC(2026, 0, 3));

    const december = await getMonthlyUsage(db, config, auth(userId), { period: '2025-12' }, now);
    expect(december.tokens).toMatchObject({ total: 570_000, billable: 0, not_billable: 0 });
    expect(december.billing.carried_out).toEqual({ tokens: 570_000, storage_gb_hours: 0 });
    expect(december.estimated_cost.total).toBe(0);

    const january = await getMonthlyUsage(db, config, auth(userId), {}, now);
    expect(january.tokens).toMatchObject({ total: 10_000, billable: 571_000, not_billable: 9_000 });
    expect(january.billing.carried_in).toEqual({ tokens: 570_000, storage_gb_hours: 0 });
    expect(january.estimated_cost.tokens).toBe(lineAmount(571_000, '0.0002'));

    // Carried but not attempted yet (its call was marked back before it went out): placed by its own time, so
    // still carried into January, and read one by one rather than from the sums of carried rows.
    const markedBack = await tokensAt(userId, new Date(Date.UTC(2025, 11, 29)), 300);
    await db.updateTable('token_usage').set({ stripe_timestamp: new Date(Date.UTC(2026, 0, 2, 12)) }).where('id', '=', markedBack.usageId).execute();
    expect((await getMonthlyUsage(db, config, auth(userId), {}, now)).billing.carried_in.tokens).toBe(570_300);
    await db.deleteFrom('token_usage').where('id', '=', markedBack.usageId).execute();

    // A key limited to suites: carried rows count in their own suite's view only, in and out.
    const ownSuite = { ...auth(userId), suiteIds: [fixture.suiteId] };
    const otherSuite = { ...auth(userId), suiteIds: [crypto.randomUUID()] };
    expect((await getMonthlyUsage(db, config, ownSuite, {}, now)).billing.carried_in.tokens).toBe(570_000);
    expect((await getMonthlyUsage(db, config, otherSuite, {}, now)).billing.carried_in.tokens).toBe(0);
    expect((await getMonthlyUsage(db, config, ownSuite, { period: '2025-12' }, now)).billing.carried_out.tokens).toBe(570_000);
    expect((await getMonthlyUsage(db, config, otherSuite, { period: '2025-12' }, now)).billing.carried_out.tokens).toBe(0);
  });

  it('places rows it sums alike only when they are billed alike: across a month edge and a subscription edge apart', async () => {
    const db = database.db();
    const userId = await addUser(db, 'cus_estimate_grouped');
    // The first subscription ends, and the next starts, at instants that are no day's or hour's edge.
    await addSubscription(db, { userId, startedAt: new Date(Date.UTC(2025, 11, 1)), endedAt: new Date(Date.UTC(2026, 0, 15, 13, 37, 21)) });
    await addSubscription(db, { userId, startedAt: new Date(Date.UTC(2026, 0, 15, 14)), prices: { tokens: '0.0004', storage: '0.00000001' } });
    // All unsent, so each is placed where the sync will send it. Seconds apart, in the same sync state:
    await tokensAt(userId, new Date(Date.UTC(2025, 11, 31, 23, 59, 59)), 1_000); // December's closed: carried in
    await tokensAt(userId, new Date(Date.UTC(2026, 0, 1, 0, 0, 1)), 2_000); // January, the first (closed): carried
    await tokensAt(userId, new Date(Date.UTC(2026, 0, 15, 13, 37, 20)), 4_000); // the first's last second: carried
    await tokensAt(userId, new Date(Date.UTC(2026, 0, 15, 13, 37, 30)), 8_000); // between the two: billed nowhere
    await tokensAt(userId, new Date(Date.UTC(2026, 0, 16)), 16_000); // the second, open: its own period
    // Nine more rows alike in the second's period: summed, they count as much as they would one by one.
    for (let minute = 1; minute <= 9; minute++) await tokensAt(userId, new Date(Date.UTC(2026, 0, 16, 0, minute)), 100);

    const january = await getMonthlyUsage(db, config, auth(userId), {}, new Date(Date.UTC(2026, 0, 20, 12)));
    expect(january.tokens).toMatchObject({ total: 30_900, billable: 23_900, not_billable: 8_000 });
    expect(january.billing.carried_in).toEqual({ tokens: 1_000, storage_gb_hours: 0 });
    expect(january.billing.carried_out).toEqual({ tokens: 0, storage_gb_hours: 0 });
    expect(january.estimated_cost.tokens).toBe(lineAmount(23_900, '0.0004'));
  });

  it('sums a month of storage hours as it sums token rows, each hour rounded on its own, across subscription edges', async () => {
    const db = database.db();
    const userId = await addUser(db, 'cus_estimate_storage_month');
    const february = (day: number, hour = 0, minute = 0) => new Date(Date.UTC(2026, 1, day, hour, minute));
    const first = { tokens: '0.0002', storage: '0.0000013' };
    const second = { tokens: '0.0004', storage: '0.0000029' };
    // The first began in January and ends inside an hour (its 10:00 hour is still its own); the next starts days later.
    const firstEnds = february(14, 10, 30);
    const secondStarts = february(20);
    await addSubscription(db, { userId, startedAt: new Date(Date.UTC(2026, 0, 1)), endedAt: firstEnds, prices: first });
    await addSubscription(db, { userId, startedAt: secondStarts, prices: second });
    const now = february(25, 12);

    // A sample for every hour of the month up to now, whose byte-hours round differently one by one than summed:
    // sent, refused for good or not sent yet; those between the two subscriptions were never sent.
    const billed = { first: 0, second: 0 };
    let lost = 0;
    let byteHours = 0;
    const samples: Array<Record<string, unknown> & { user_id: string; hour: Date; bytes: number }> = [];
    for (let hour = february(1).getTime(), i = 0; hour < now.getTime(); hour += HOUR, i++) {
      const bytes = 1_234_567_890 + (i % 5) * 123 + 499;
      const meter = storageMeterValue(bytes);
      byteHours += bytes;
      const inFirst = hour < firstEnds.getTime();
      const inSecond = hour >= secondStarts.getTime();
      const state = !inFirst && !inSecond ? 'unsent' : i % 10 === 3 ? 'failed' : i % 10 === 7 ? 'unsent' : inFirst && i % 10 === 5 ? 'carried' : 'sent';
      if (state === 'failed' || (!inFirst && !inSecond)) lost += meter;
      // Unsent in the first, whose invoice has closed: carried into the period open now, the second's, as those
      // already sent there were (they are the month's own and carried into it: counted once).
      else if (state === 'unsent' || state === 'carried' || inSecond) billed.second += meter;
      else billed.first += meter;
      samples.push({
        user_id: userId,
        hour: new Date(hour),
        bytes,
        ...(state === 'sent' ? { stripe_sent_at: new Date(hour + HOUR), stripe_resolution: 'sent' } : {}),
        ...(state === 'carried' ? { stripe_sent_at: february(21), stripe_resolution: 'sent', stripe_timestamp: february(21) } : {}),
        ...(state === 'failed' ? { stripe_failed_at: new Date(hour + HOUR), stripe_resolution: 'rejected', stripe_error: '400 x' } : {}),
      });
    }
    // January's: one sent late with a February time (billed in the first's February period), one still unsent
    // (January's invoice has closed: carried into the period open now). Both come in from elsewhere.
    const late = { hour: new Date(Date.UTC(2026, 0, 31, 22)), bytes: 2_000_000_499 };
    const unsent = { hour: new Date(Date.UTC(2026, 0, 31, 23)), bytes: 3_000_000_501 };
    samples.push(
      { user_id: userId, ...late, stripe_sent_at: february(2), stripe_resolution: 'sent', stripe_timestamp: february(2) },
      { user_id: userId, ...unsent },
    );
    billed.first += storageMeterValue(late.bytes);
    billed.second += storageMeterValue(unsent.bytes);
    const carriedIn = storageMeterValue(late.bytes) + storageMeterValue(unsent.bytes);
    for (let i = 0; i < samples.length; i += 200) await db.insertInto('storage_samples').values(samples.slice(i, i + 200)).execute();

    const usage = await getMonthlyUsage(db, config, auth(userId), {}, now);
    const round6 = (value: number) => Math.round(value * 1e6) / 1e6;
    expect(usage.storage).toEqual({
      gb_hours: round6(byteHours / BYTES_PER_GB),
      current_gb: 0,
      billable_gb_hours: round6((billed.first + billed.second) / KB_PER_GB),
      not_billable_gb_hours: round6(lost / KB_PER_GB),
    });
    expect(usage.estimated_cost.storage).toBe(lineAmount(billed.first, first.storage) + lineAmount(billed.second, second.storage));
    expect(usage.estimated_cost.storage).toBeGreaterThan(0);
    expect(usage.billing.carried_in.storage_gb_hours).toBe(round6(carriedIn / KB_PER_GB));
    expect(usage.billing.carried_out.storage_gb_hours).toBe(0);
  });

  it("counts, for the hours not sampled yet, an object deleted since the sampler's mark up to its deletion", async () => {
    const db = database.db();
    const userId = await addUser(db, 'cus_estimate_deleted');
    const march = (day: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 2, day, hour, minute));
    await addSubscription(db, { userId, startedAt: march(1, 0) });
    await db.deleteFrom('storage_sampler_state').execute();
    await db.insertInto('storage_sampler_state').values({ sampled_until: march(10, 7) }).execute();
    // Stored for a day before the mark, deleted two and a half hours after it; another ended before the mark.
    await db
      .insertInto('stored_objects')
      .values([
        { user_id: userId, kind: 'session', object_id: crypto.randomUUID(), bytes: 4_000_000_000, stored_from: march(9, 6), stored_until: march(10, 9, 30) },
        { user_id: userId, kind: 'session', object_id: crypto.randomUUID(), bytes: 9_000_000_000, stored_from: march(9, 6), stored_until: march(10, 6) },
      ])
      .execute();

    const usage = await getMonthlyUsage(db, config, auth(userId), {}, march(10, 12, 20));
    // 07:00-09:30 of the first: 10 GB-hours (KB-hours 4,000,000 + 4,000,000 + 2,000,000); nothing of the second.
    expect(usage.storage).toEqual({ gb_hours: 10, current_gb: 0, billable_gb_hours: 10, not_billable_gb_hours: 0 });
  });

  it('does not jump when the sampler writes the hours it estimated from the ledger', async () => {
    const db = database.db();
    const userId = await addUser(db, 'cus_estimate_3');
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    await addSubscription(db, { userId, startedAt: new Date(hourNow - 3 * DAY) });
    await db.deleteFrom('storage_sampler_state').execute();
    await db.insertInto('storage_sampler_state').values({ sampled_until: new Date(hourNow - 5 * HOUR) }).execute();
    await addSession(db, { userId, suiteId: fixture.suiteId, sizeBytes: 134_450_000, createdAt: new Date(hourNow - 30 * HOUR), blobs });
    await addSession(db, { userId, suiteId: fixture.suiteId, sizeBytes: 7_777_777_777, createdAt: new Date(hourNow - 2.4 * HOUR), blobs });
    const now = new Date(hourNow + 20 * 60_000);

    const before = await getMonthlyUsage(db, config, auth(userId), {}, now);
    await sampleStorage(db, blobs, { log: () => undefined, warn: () => undefined }, now);
    const after = await getMonthlyUsage(db, config, auth(userId), {}, now);
    expect(after.storage).toEqual(before.storage);
    expect(after.estimated_cost).toEqual(before.estimated_cost);
    expect(after.storage.current_gb).toBe(7.912228);
    expect(after.storage.billable_gb_hours).toBeGreaterThan(0);
  });
});
