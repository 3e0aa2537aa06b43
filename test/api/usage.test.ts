import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import { lineAmount } from '../../shared/billing/pricing.js';
import { createDatabase } from '../../shared/db/database.js';
import type { Database } from '../../shared/db/schema.js';
import { addCompletedExample, addSession, createUsageFixture, invokeTimer, type UsageFixture } from '../support/billingFixtures.js';
import { callApi } from '../support/http.js';
import { createTestUser, type TestUser } from '../support/users.js';

/*
 * GET /v1/usage against the shared API (billing off), with a month of usage seeded by hand on both sides of the
 * month's first instant, and the figures computed here from the seed. (What is billable where, with Stripe on,
 * is test/integration/usageEstimate.test.ts.)
 */

const HOUR = 3_600_000;
let db: Kysely<Database>;

beforeAll(() => {
  db = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 2 });
});

afterAll(async () => {
  await db.destroy();
});

interface Usage {
  billing_period: { start: string; end: string };
  tokens: { total: number; by_model: Record<string, number>; billable: number; not_billable: number };
  storage: { gb_hours: number; current_gb: number; billable_gb_hours: number; not_billable_gb_hours: number };
  sessions_uploaded: number;
  examples_generated: number;
  billing: { enabled: boolean; invoice_periods: unknown[]; carried_in: unknown; carried_out: unknown };
  estimated_cost: { tokens: number; storage: number; total: number; currency: string };
}

async function usage(key: string, query = ''): Promise<{ status: number; body: Usage; json: unknown }> {
  const response = await callApi(`/v1/usage${query}`, { key });
  return { status: response.status, body: response.json as Usage, json: response.json };
}

describe('GET /v1/usage', () => {
  let owner: TestUser;
  let first: UsageFixture;
  let second: UsageFixture;
  let monthStart: Date;
  let sampledByteHours: number;

  beforeAll(async () => {
    owner = await createTestUser();
    const blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
    const tag = randomUUID().slice(0, 8);
    first = await createUsageFixture(db, { provider: 'OPENAI', name: `GPT-4o-Usage-${tag}` });
    second = await createUsageFixture(db, { provider: 'ANTHROPIC', name: `Claude-Usage-${tag}` });
    const now = new Date();
    monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const justAfter = new Date(monthStart.getTime() + 1000);
    const justBefore = new Date(monthStart.getTime() - 1000);
    const userId = owner.userId;

    // Sessions: uploaded this month (S1 ready, S4 invalid, S5 ready in the second suite), last month (S2),
    // and one whose trace never arrived (S3). Stored traces are in Blob, as the sampler expects to find them.
    const s1 = await addSession(db, { userId, suiteId: first.suiteId, sizeBytes: 1_000_000_000, createdAt: justAfter, blobs });
    const s2 = await addSession(db, { userId, suiteId: first.suiteId, sizeBytes: 500_000_000, createdAt: justBefore, blobs });
    await addSession(db, { userId, suiteId: first.suiteId, status: 'awaiting_upload', sizeBytes: null });
    await addSession(db, { userId, suiteId: first.suiteId, status: 'invalid', sizeBytes: 0 });
    const s5 = await addSession(db, { userId, suiteId: second.suiteId, sizeBytes: 250_000_000, blobs });

    // Tokens: 1.5M on the month's first second, 10 on the last second of the previous month, 200k just now.
    await addCompletedExample(db, { userId, fixture: first, sessionId: s1, inputTokens: 1_000_000, outputTokens: 500_000, recordedAt: justAfter });
    await addCompletedExample(db, { userId, fixture: first, sessionId: s2, inputTokens: 7, outputTokens: 3, recordedAt: justBefore });
    await addCompletedExample(db, {
      userId,
      fixture: second,
      sessionId: s5,
      inputTokens: 150_000,
      outputTokens: 50_000,
      recordedAt: new Date(now.getTime() - 60_000),
    });

    // Storage samples: the hour before the month (not counted) and the month's first hour.
    const samples = [
      { hour: new Date(monthStart.getTime() - HOUR), bytes: 9_000_000_000_000 },
      { hour: monthStart, bytes: 100_000_000_000_000 },
    ];
    await db.insertInto('storage_samples').values(samples.map((sample) => ({ user_id: userId, ...sample }))).execute();
    sampledByteHours = samples.filter((s) => s.hour >= monthStart).reduce((sum, s) => sum + s.bytes, 0);
  });

  it('reports this month from recorded usage, samples and what is stored, and prices it (billing off: all of it)', async () => {
    const { status, body } = await usage(owner.key);
    expect(status).toBe(200);
    const nextMonth = new Date(Date.UTC(monthStart.getUTCFullYear(), monthStart.getUTCMonth() + 1, 1));
    const tag = Object.keys(body.tokens.by_model)[0]!.split('-usage-')[1];
    expect(body).toEqual({
      billing_period: { start: monthStart.toISOString(), end: nextMonth.toISOString() },
      tokens: {
        total: 1_700_000,
        by_model: { [`openai/gpt-4o-usage-${tag}`]: 1_500_000, [`anthropic/claude-usage-${tag}`]: 200_000 },
        billable: 1_700_000,
        not_billable: 0,
      },
      storage: { gb_hours: expect.any(Number), current_gb: 1.75, billable_gb_hours: expect.any(Number), not_billable_gb_hours: 0 },
      sessions_uploaded: 3,
      examples_generated: 2,
      billing: { enabled: false, invoice_periods: [], carried_in: { tokens: 0, storage_gb_hours: 0 }, carried_out: { tokens: 0, storage_gb_hours: 0 } },
      // 1.7M tokens at 200 per million; the storage part is checked below.
      estimated_cost: { tokens: 340, storage: expect.any(Number), total: 340 + body.estimated_cost.storage, currency: 'usd' },
      // No budget set: no limit; what counts against one is the same total.
      budget: { limit: null, used: body.estimated_cost.total, remaining: null, state: 'ok', currency: 'usd' },
    });
    // At least the month's samples (the rest is what the ledger holds for the hours not sampled yet), and the
    // cost of exactly the KB-hours billed, at 0.005 per GB-hour.
    expect(body.storage.gb_hours).toBeGreaterThanOrEqual(sampledByteHours / 1e9);
    expect(body.storage.billable_gb_hours).toBeCloseTo(body.storage.gb_hours, 3);
    expect(body.estimated_cost.storage).toBe(lineAmount(Math.round(body.storage.billable_gb_hours * 1e6), '0.000000005'));
  });

  it('shows an earlier month with period=YYYY-MM', async () => {
    const previous = new Date(monthStart.getTime() - 1000).toISOString().slice(0, 7);
    const { status, body } = await usage(owner.key, `?period=${previous}`);
    expect(status).toBe(200);
    expect(body.billing_period.start.slice(0, 7)).toBe(previous);
    expect(body.tokens.total).toBe(10);
    expect((await usage(owner.key, '?period=2026-13')).status).toBe(422);
  });

  it('narrows tokens, sessions and examples to one suite with suite_id; storage stays per account', async () => {
    const all = (await usage(owner.key)).body;
    const { status, body } = await usage(owner.key, `?suite_id=${second.suiteId}`);
    expect(status).toBe(200);
    expect(body.tokens.total).toBe(200_000);
    expect(Object.values(body.tokens.by_model)).toEqual([200_000]);
    expect(body.sessions_uploaded).toBe(1);
    expect(body.examples_generated).toBe(1);
    expect(body.estimated_cost.tokens).toBe(40);
    expect(body.storage.current_gb).toBe(all.storage.current_gb);
  });

  it('shows a key limited to some suites only those suites, and any other suite as 404', async () => {
    const key = generateApiKeySecret();
    await db
      .insertInto('api_keys')
      .values({
        user_id: owner.userId,
        prefix: maskApiKeySecret(key),
        key_hash: hashApiKeySecret(key, inject('apiKeyHmacSecret')),
        suite_ids: [first.suiteId],
      })
      .execute();
    const limited = await usage(key);
    expect(limited.body.tokens.total).toBe(1_500_000);
    expect(limited.body.sessions_uploaded).toBe(2);
    const elsewhere = await usage(key, `?suite_id=${second.suiteId}`);
    expect(elsewhere.status).toBe(404);
    expect((elsewhere.json as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('is 404 for a suite that does not exist and 422 for a malformed suite id', async () => {
    expect((await usage(owner.key, `?suite_id=${randomUUID()}`)).status).toBe(404);
    expect((await usage(owner.key, '?suite_id=not-a-uuid')).status).toBe(422);
  });

  it('shows another user none of it', async () => {
    const stranger = await createTestUser();
    const { body } = await usage(stranger.key);
    expect(body.tokens).toEqual({ total: 0, by_model: {}, billable: 0, not_billable: 0 });
    expect(body.storage).toEqual({ gb_hours: 0, current_gb: 0, billable_gb_hours: 0, not_billable_gb_hours: 0 });
    expect(body.sessions_uploaded).toBe(0);
    expect(body.examples_generated).toBe(0);
    expect(body.estimated_cost).toEqual({ tokens: 0, storage: 0, total: 0, currency: 'usd' });
  });

  it('reads aggregates, not usage rows: the month is summed from the daily rollup', async () => {
    const { rows } = await sql<{ day: string; tokens: number }>`
      select to_char(day, 'YYYY-MM-DD') as day, (input_tokens + output_tokens)::bigint as tokens
      from token_usage_daily where user_id = ${owner.userId} order by day`.execute(db);
    const lastDay = new Date(monthStart.getTime() - 1000).toISOString().slice(0, 10);
    expect(rows[0]).toEqual({ day: lastDay, tokens: 10 });
    expect(rows.slice(1).reduce((sum, row) => sum + row.tokens, 0)).toBe(1_700_000);
    // Take the rollup away and the figures go with it: GET /v1/usage does not read token_usage.
    await sql`update token_usage_daily set input_tokens = 0, output_tokens = 0 where user_id = ${owner.userId}`.execute(db);
    try {
      expect((await usage(owner.key)).body.tokens.total).toBe(0);
    } finally {
      await sql`
        update token_usage_daily d set input_tokens = t.i, output_tokens = t.o
        from (select (recorded_at at time zone 'UTC')::date as day, suite_id, model_id,
                     sum(input_tokens) as i, sum(output_tokens) as o
              from token_usage where user_id = ${owner.userId} group by 1, 2, 3) t
        where d.user_id = ${owner.userId} and d.day = t.day and d.suite_id = t.suite_id and d.model_id = t.model_id`.execute(db);
    }
    expect((await usage(owner.key)).body.tokens.total).toBe(1_700_000);
  });
});

describe('billing while Stripe is not configured', () => {
  it('the Stripe sync records that it waits for configuration, with what waits', async () => {
    const user = await createTestUser();
    const fixture = await createUsageFixture(db);
    await addCompletedExample(db, { userId: user.userId, fixture, inputTokens: 5, outputTokens: 5 });
    const since = new Date(Date.now() - 1000);
    await invokeTimer({ url: inject('apiUrl') }, 'syncUsageToStripe');
    let run: { outcome: string; details: unknown } | undefined;
    for (let attempt = 0; attempt < 200 && !run; attempt++) {
      run = await db
        .selectFrom('stripe_sync_runs')
        .select(['outcome', 'details'])
        .where('started_at', '>=', since)
        .where('outcome', '=', 'waiting_for_configuration')
        .executeTakeFirst();
      if (!run) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(run?.outcome).toBe('waiting_for_configuration');
    expect(run?.details).toMatchObject({ reason: expect.stringMatching(/STRIPE_SECRET_KEY/) });
    expect((run?.details as { waiting_tokens: number }).waiting_tokens).toBeGreaterThanOrEqual(1);
    const row = await db.selectFrom('token_usage').selectAll().where('user_id', '=', user.userId).executeTakeFirstOrThrow();
    expect(row.stripe_sent_at).toBeNull();
    expect(row.stripe_attempted_at).toBeNull();
  });

  it('POST /v1/billing/setup-intent is 409 billing_disabled', async () => {
    const user = await createTestUser();
    const response = await callApi('/v1/billing/setup-intent', { method: 'POST', key: user.key });
    expect(response.status).toBe(409);
    expect((response.json as { error: { details: unknown } }).error.details).toEqual({ reason: 'billing_disabled' });
  });

  it('the Stripe webhook is 503 so that Stripe retries once it is configured', async () => {
    const response = await callApi('/v1/webhooks/stripe', {
      method: 'POST',
      key: null,
      body: '{}',
      headers: { 'Stripe-Signature': 't=1,v1=00' },
    });
    expect(response.status).toBe(503);
  });

  it('GET /v1/invoices is an empty page', async () => {
    const user = await createTestUser();
    const response = await callApi('/v1/invoices', { key: user.key });
    expect(response.json).toEqual({ items: [], total: 0, page: 1, per_page: 12 });
  });
});
