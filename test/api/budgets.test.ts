import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../shared/db/database.js';
import type { Database } from '../../shared/db/schema.js';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { addCompletedExample, createUsageFixture, invokeTimer, type UsageFixture } from '../support/billingFixtures.js';
import { GPT_4O } from '../support/examples.js';
import { callApi } from '../support/http.js';
import { createSessionRow, eventually } from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

/*
 * Budgets through the API under test (billing off: the estimate is what usage would cost at the configured price,
 * 200 minor units per million tokens). Usage is written as the examples code writes it (recordTokenUsage).
 */

let db: Kysely<Database>;
let fixture: UsageFixture;
let receiver: WebhookReceiver;

beforeAll(async () => {
  db = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 2 });
  fixture = await createUsageFixture(db);
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await db.destroy();
  await receiver.close();
});

/** Tokens whose cost is `minor` units at 200 per million. */
async function spend(user: TestUser, minor: number): Promise<void> {
  await addCompletedExample(db, { userId: user.userId, fixture, inputTokens: minor * 5_000, outputTokens: 0 });
}

async function putBudget(user: TestUser, body: Record<string, unknown>) {
  return callApi('/v1/billing/budget', { method: 'PUT', key: user.key, body });
}

function fieldsOf(json: unknown): string[] {
  return (json as { error: { details: { fields: Array<{ field: string }> } } }).error.details.fields.map((f) => f.field);
}

describe('GET|PUT /v1/billing/budget', () => {
  it('has no limit until one is set, and keeps what is put', async () => {
    const user = await createTestUser();
    const none = await callApi('/v1/billing/budget', { key: user.key });
    expect(none.json).toEqual({ monthly_limit: null, currency: 'usd', hard_limit: false, alert_thresholds: [0.5, 0.8, 1] });
    const put = await putBudget(user, { monthly_limit: 1000, hard_limit: true, alert_thresholds: [1, 0.25, 0.25] });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ monthly_limit: 1000, currency: 'usd', hard_limit: true, alert_thresholds: [0.25, 1] });
    expect((await callApi('/v1/billing/budget', { key: user.key })).json).toEqual(put.json);
  });

  it('refuses a negative limit, a threshold outside (0, 1] and another currency with 422 naming the field', async () => {
    const user = await createTestUser();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ monthly_limit: -1 }, 'monthly_limit'],
      [{ monthly_limit: 1.5 }, 'monthly_limit'],
      [{ monthly_limit: 100, alert_thresholds: [0] }, 'alert_thresholds.0'],
      [{ monthly_limit: 100, alert_thresholds: [0.5, 1.2] }, 'alert_thresholds.1'],
      [{ monthly_limit: 100, currency: 'eur' }, 'currency'],
    ];
    for (const [body, field] of cases) {
      const response = await putBudget(user, body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(fieldsOf(response.json), JSON.stringify(body)).toEqual([field]);
    }
    expect((await callApi('/v1/billing/budget', { key: user.key })).json).toMatchObject({ monthly_limit: null });
  });
});

describe('the budget against usage', () => {
  it('shows the budget in GET /v1/usage from estimated_cost, and emits each threshold once a month', async () => {
    const user = await createTestUser();
    const hook = await callApi('/v1/webhook-endpoints', {
      method: 'POST',
      key: user.key,
      body: { url: `${receiver.url}/budget-${user.userId}`, events: ['usage.budget_threshold'] },
    });
    expect(hook.status).toBe(201);
    await putBudget(user, { monthly_limit: 1000, alert_thresholds: [0.5, 0.8, 1] });
    await spend(user, 600);

    const usage = await callApi('/v1/usage', { key: user.key });
    const body = usage.json as { estimated_cost: { total: number }; budget: Record<string, unknown> };
    expect(body.estimated_cost.total).toBe(600);
    expect(body.budget).toEqual({ limit: 1000, used: 600, remaining: 400, state: 'alerting', currency: 'usd' });
    // Narrowed to a suite, the budget still speaks of the whole account.
    const narrowed = await callApi(`/v1/usage?suite_id=${GMAIL_SUITE_ID}`, { key: user.key });
    expect((narrowed.json as typeof body).budget).toMatchObject({ used: 600 });

    await invokeTimer({ url: inject('apiUrl') }, 'checkBudgets');
    const emitted = async () =>
      (await db.selectFrom('budget_threshold_emissions').select('threshold').where('user_id', '=', user.userId).orderBy('threshold').execute()).map(
        (row) => row.threshold,
      );
    await eventually('the 0.5 threshold', async () => ((await emitted()).length === 1 ? true : undefined));
    await spend(user, 500);
    // Checked twice: by the timer and by a request for paid work; each threshold still goes out once.
    await invokeTimer({ url: inject('apiUrl') }, 'checkBudgets');
    await eventually('the 0.8 and 1.0 thresholds', async () => ((await emitted()).length === 3 ? true : undefined));
    await invokeTimer({ url: inject('apiUrl') }, 'checkBudgets');
    const session = await createSessionRow(user.userId, GMAIL_SUITE_ID);
    expect((await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: session, model_id: GPT_4O } })).status).toBe(201);
    expect(await emitted()).toEqual([0.5, 0.8, 1]);

    const events = await db
      .selectFrom('webhook_events')
      .select(['type', 'data'])
      .where('user_id', '=', user.userId)
      .where('type', '=', 'usage.budget_threshold')
      .execute();
    expect(events.map((event) => (event.data as { threshold: number }).threshold).sort()).toEqual([0.5, 0.8, 1]);
    expect(events.find((event) => (event.data as { threshold: number }).threshold === 1)?.data).toMatchObject({
      limit: 1000,
      used: 1100,
      state: 'exceeded',
      currency: 'usd',
    });
    await invokeTimer({ url: inject('apiUrl') }, 'deliverWebhooks');
    await eventually('the threshold events delivered', async () =>
      receiver.received.filter((request) => request.path === `/budget-${user.userId}`).length === 3 ? true : undefined,
    );
  });

  it('refuses new paid work with 402 budget_exceeded at a hard limit, while reads stay 200', async () => {
    const user = await createTestUser();
    const session = await createSessionRow(user.userId, GMAIL_SUITE_ID);
    await putBudget(user, { monthly_limit: 300, hard_limit: true });
    await spend(user, 299);
    // Under the limit: accepted.
    const accepted = await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: session, model_id: GPT_4O } });
    expect(accepted.status).toBe(201);
    await spend(user, 1);

    const refusals = [
      await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: session, model_id: GPT_4O } }),
      await callApi('/v1/sessions', { method: 'POST', key: user.key, body: { suite_id: GMAIL_SUITE_ID } }),
      await callApi('/v1/datasets', { method: 'POST', key: user.key, body: { name: 'capped', format: 'openai' } }),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(402);
      expect(refused.json).toMatchObject({ error: { code: 'budget_exceeded', details: { limit: 300, used: 300, currency: 'usd' } } });
    }
    const before = await db.selectFrom('examples').select(db.fn.countAll<number>().as('n')).where('user_id', '=', user.userId).executeTakeFirstOrThrow();
    expect(Number(before.n)).toBe(3); // the two spends and the accepted one; nothing from the refusals

    for (const path of ['/v1/usage', `/v1/examples/${(accepted.json as { id: string }).id}`, `/v1/sessions/${session}`, '/v1/examples', '/v1/billing/budget']) {
      expect((await callApi(path, { key: user.key })).status, path).toBe(200);
    }
    expect(((await callApi('/v1/usage', { key: user.key })).json as { budget: unknown }).budget).toEqual({
      limit: 300,
      used: 300,
      remaining: 0,
      state: 'exceeded',
      currency: 'usd',
    });

    // A soft limit only alerts; a higher hard one lets work in again.
    await putBudget(user, { monthly_limit: 300, hard_limit: false });
    expect((await callApi('/v1/sessions', { method: 'POST', key: user.key, body: { suite_id: GMAIL_SUITE_ID } })).status).toBe(201);
    await putBudget(user, { monthly_limit: 10_000, hard_limit: true });
    expect((await callApi('/v1/sessions', { method: 'POST', key: user.key, body: { suite_id: GMAIL_SUITE_ID } })).status).toBe(201);
  });

  it('refuses the MCP equivalent with budget_exceeded too', async () => {
    const user = await createTestUser();
    await putBudget(user, { monthly_limit: 0, hard_limit: true });
    const response = await callApi('/v1/mcp', {
      method: 'POST',
      key: user.key,
      headers: { Accept: 'application/json, text/event-stream' },
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'create_session', arguments: { suite_id: GMAIL_SUITE_ID } },
      },
    });
    expect(response.text).toMatch(/budget_exceeded/);
  });

  it('refuses the A2P equivalents (process-trace, build-dataset) with the budget\'s reason, creating nothing', async () => {
    const user = await createTestUser();
    await putBudget(user, { monthly_limit: 0, hard_limit: true });
    const send = (parts: unknown[]) =>
      callApi('/v1/a2p', {
        method: 'POST',
        key: user.key,
        headers: { 'A2A-Version': '' },
        body: { jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: { kind: 'message', messageId: randomUUID(), role: 'user', parts } } },
      });
    const trace = await send([
      { kind: 'file', file: { bytes: Buffer.from('{}\n').toString('base64'), mimeType: 'application/jsonl', name: 'input_events.jsonl' } },
      { kind: 'data', data: { suite_id: GMAIL_SUITE_ID, model_id: GPT_4O } },
    ]);
    const dataset = await send([{ kind: 'data', data: { skill: 'build-dataset', name: 'capped', format: 'openai' } }]);
    for (const response of [trace, dataset]) {
      expect(response.status).toBe(200);
      expect(JSON.stringify(response.json)).toMatch(/budget is reached/);
    }
    const sessions = await db.selectFrom('sessions').select('id').where('user_id', '=', user.userId).execute();
    const datasets = await db.selectFrom('datasets').select('id').where('user_id', '=', user.userId).execute();
    expect([sessions, datasets]).toEqual([[], []]);
  });
});
