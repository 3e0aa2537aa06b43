import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { storageSampleIdentifier, tokenUsageIdentifier } from '../shared/billing/meterEvents.js';
import {
  addCompletedExample,
  addUser,
  createUsageFixture,
  runSync,
  startBillingApi,
  TEST_METER_EVENTS,
  type BillingApi,
  type UsageFixture,
} from './support/fakeStripe.js';

/*
 * The Stripe sync through the local host, as Azure runs it (POST /admin/functions/syncUsageToStripe), against the
 * fake Stripe. Every test uses customers of its own and checks both sides: the usage rows in the database and the
 * requests the fake received and the events it kept.
 */

let api: BillingApi;
let fixture: UsageFixture;

beforeAll(async () => {
  api = await startBillingApi({
    apiKeyHmacSecret: inject('apiKeyHmacSecret'),
    storageConnectionString: inject('storageConnectionString'),
  });
  fixture = await createUsageFixture(api.db);
}, 180_000);

afterAll(async () => {
  await api?.close();
});

const HOUR = 3_600_000;

async function customerWithUsage(tokens: Array<[number, number]>, options: { recordedAt?: Date } = {}) {
  const customerId = api.fake.addCustomer();
  const userId = await addUser(api.db, customerId);
  const examples = [];
  for (const [inputTokens, outputTokens] of tokens) {
    examples.push(
      await addCompletedExample(api.db, {
        userId,
        fixture,
        inputTokens,
        outputTokens,
        ...(options.recordedAt ? { recordedAt: options.recordedAt } : {}),
      }),
    );
  }
  return { customerId, userId, examples };
}

function tokenRows(userId: string) {
  return api.db
    .selectFrom('token_usage')
    .select([
      'id',
      'example_id',
      'input_tokens',
      'output_tokens',
      'recorded_at',
      'stripe_sent_at',
      'stripe_attempted_at',
      'stripe_failed_at',
      'stripe_error',
      'stripe_resolution',
      'stripe_attempts',
    ])
    .where('user_id', '=', userId)
    .orderBy('recorded_at')
    .execute();
}

function meterCalls(customerId: string) {
  return api.fake
    .calls('POST', '/v1/billing/meter_events')
    .filter((call) => (call.form.payload as Record<string, unknown> | undefined)?.stripe_customer_id === customerId);
}

function eventsOf(customerId: string) {
  return api.fake.meterEvents.filter((event) => event.customer === customerId);
}

/** Each identifier at most once in what Stripe kept: nothing billed twice. */
function expectNoDuplicates(customerId: string) {
  const identifiers = eventsOf(customerId).map((event) => event.identifier);
  expect(new Set(identifiers).size).toBe(identifiers.length);
}

async function syncUntilNotLocked() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [run] = await runSync(api.db, api.hosts[0]!);
    if (run!.outcome !== 'skipped_locked') return run!;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the sync lock was never free');
}

describe('the Stripe sync', () => {
  it('sends each unsent token and storage row once as a meter event with a deterministic identifier, then marks it sent', async () => {
    const { customerId, userId, examples } = await customerWithUsage([
      [100, 20],
      [5, 0],
    ]);
    const hour = new Date(Math.floor(Date.now() / HOUR) * HOUR - HOUR);
    await api.db.insertInto('storage_samples').values({ user_id: userId, hour, bytes: 2_500_400_000 }).execute();

    const [run] = await runSync(api.db, api.hosts[0]!);
    expect(run!.outcome).toBe('completed');

    const calls = meterCalls(customerId);
    expect(calls.map((call) => call.form).sort((a, b) => String(a.identifier).localeCompare(String(b.identifier)))).toEqual(
      [
        {
          event_name: TEST_METER_EVENTS.storage,
          identifier: storageSampleIdentifier(userId, hour),
          timestamp: String(hour.getTime() / 1000),
          payload: { stripe_customer_id: customerId, value: '2500' },
        },
        ...examples.map((example, index) => ({
          event_name: TEST_METER_EVENTS.tokens,
          identifier: tokenUsageIdentifier(example.exampleId),
          timestamp: expect.stringMatching(/^\d{10}$/),
          payload: { stripe_customer_id: customerId, value: index === 0 ? '120' : '5' },
        })),
      ].sort((a, b) => a.identifier.localeCompare(b.identifier)),
    );
    for (const row of await tokenRows(userId)) {
      expect(row.stripe_sent_at).toBeInstanceOf(Date);
      expect(row.stripe_resolution).toBe('sent');
      expect(row.stripe_attempts).toBe(1);
      const call = calls.find((c) => c.form.identifier === tokenUsageIdentifier(row.example_id));
      expect(call?.form.timestamp).toBe(String(Math.floor(row.recorded_at.getTime() / 1000)));
    }
    const sample = await api.db.selectFrom('storage_samples').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(sample.stripe_resolution).toBe('sent');

    await runSync(api.db, api.hosts[0]!);
    expect(meterCalls(customerId)).toHaveLength(3);
    expect(eventsOf(customerId)).toHaveLength(3);
  });

  it('sends nothing for usage worth zero units, and marks it so', async () => {
    const { customerId, userId } = await customerWithUsage([]);
    const hour = new Date(Math.floor(Date.now() / HOUR) * HOUR - HOUR);
    await api.db.insertInto('storage_samples').values({ user_id: userId, hour, bytes: 400_000 }).execute();
    await runSync(api.db, api.hosts[0]!);
    expect(meterCalls(customerId)).toHaveLength(0);
    const sample = await api.db.selectFrom('storage_samples').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(sample.stripe_sent_at).toBeInstanceOf(Date);
    expect(sample.stripe_resolution).toBe('nothing_to_send');
  });

  it('leaves the usage of users without a Stripe customer unsent, and counts it as waiting', async () => {
    const userId = await addUser(api.db, null);
    await addCompletedExample(api.db, { userId, fixture, inputTokens: 7, outputTokens: 7 });
    const [run] = await runSync(api.db, api.hosts[0]!);
    expect(run!.outcome).toBe('completed');
    expect((run!.details as { waiting_without_customer: number }).waiting_without_customer).toBeGreaterThanOrEqual(1);
    const [row] = await tokenRows(userId);
    expect(row).toMatchObject({ stripe_sent_at: null, stripe_attempted_at: null, stripe_failed_at: null, stripe_attempts: 0 });
  });

  it('records a permanent 4xx on its row and sends the others', async () => {
    const unknownCustomer = `cus_unknown_${Date.now()}`;
    const badUser = await addUser(api.db, unknownCustomer);
    await addCompletedExample(api.db, { userId: badUser, fixture, inputTokens: 3, outputTokens: 4 });
    const good = await customerWithUsage([[10, 10]]);

    const [run] = await runSync(api.db, api.hosts[0]!);
    expect(run!.outcome).toBe('completed');
    const [bad] = await tokenRows(badUser);
    expect(bad!.stripe_sent_at).toBeNull();
    expect(bad!.stripe_failed_at).toBeInstanceOf(Date);
    expect(bad!.stripe_resolution).toBe('rejected');
    expect(bad!.stripe_error).toMatch(/^400 meter_event_customer_not_found: No such customer/);
    expect(eventsOf(good.customerId)).toHaveLength(1);
    expect((await tokenRows(good.userId))[0]!.stripe_resolution).toBe('sent');

    await runSync(api.db, api.hosts[0]!);
    expect(meterCalls(unknownCustomer)).toHaveLength(1);
  });

  it('does not bill twice when a run dies after Stripe accepted an event and before its row was marked', async () => {
    const { customerId, userId, examples } = await customerWithUsage([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    const doomed = await api.startHost();
    api.fake.setMeterEventMode({ kind: 'accept_then_stall' });
    try {
      const response = await fetch(`${doomed.url}/admin/functions/syncUsageToStripe`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(202);
      const deadline = Date.now() + 20_000;
      while (eventsOf(customerId).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(eventsOf(customerId)).toHaveLength(1);
      // Stripe has the event; the answer never comes; the process dies.
      doomed.child.kill('SIGKILL');
      await new Promise((resolve) => doomed.child.once('exit', resolve));
      api.hosts.splice(api.hosts.indexOf(doomed), 1);
    } finally {
      api.fake.setMeterEventMode({ kind: 'normal' });
    }
    const inDoubt = await tokenRows(userId);
    expect(inDoubt.every((row) => row.stripe_sent_at === null && row.stripe_attempted_at !== null)).toBe(true);

    const run = await syncUntilNotLocked();
    expect(run.outcome).toBe('completed');
    const rows = await tokenRows(userId);
    expect(rows.every((row) => row.stripe_sent_at !== null)).toBe(true);
    const firstSent = eventsOf(customerId)[0]!.identifier;
    expect(rows.find((row) => tokenUsageIdentifier(row.example_id) === firstSent)?.stripe_resolution).toBe('already_in_stripe');
    expect(eventsOf(customerId).map((event) => event.identifier).sort()).toEqual(
      examples.map((example) => tokenUsageIdentifier(example.exampleId)).sort(),
    );
    expectNoDuplicates(customerId);
  });

  it('does not bill twice when Stripe takes an event but the answer times out', async () => {
    const { customerId, userId } = await customerWithUsage([
      [10, 0],
      [20, 0],
    ]);
    const impatient = await api.startHost({ STRIPE_TIMEOUT_MS: '1000' });
    try {
      api.fake.setMeterEventMode({ kind: 'accept_then_stall', ms: 3_000 });
      const [timedOut] = await runSync(api.db, impatient);
      expect(timedOut!.outcome).toBe('backed_off');
      expect(timedOut!.details).toMatchObject({ stopped: 'stripe_unavailable', left_in_doubt: 1 });
      const [first, second] = await tokenRows(userId);
      expect(first!.stripe_sent_at).toBeNull();
      expect(first!.stripe_attempted_at).toBeInstanceOf(Date);
      // The second was never called: not in doubt.
      expect(second!.stripe_attempted_at).toBeNull();
      expect(eventsOf(customerId)).toHaveLength(1);

      api.fake.setMeterEventMode({ kind: 'normal' });
      const [retried] = await runSync(api.db, impatient);
      expect(retried!.outcome).toBe('completed');
    } finally {
      api.fake.setMeterEventMode({ kind: 'normal' });
      await impatient.stop();
      api.hosts.splice(api.hosts.indexOf(impatient), 1);
    }
    const rows = await tokenRows(userId);
    expect(rows.map((row) => row.stripe_resolution)).toEqual(['already_in_stripe', 'sent']);
    expect(eventsOf(customerId)).toHaveLength(2);
    expectNoDuplicates(customerId);
  });

  it('runs one sync at a time when two start at once, and sends every row exactly once', async () => {
    const { customerId, userId } = await customerWithUsage(Array.from({ length: 12 }, (_, i) => [i + 1, 1] as [number, number]));
    const second = await api.startHost();
    api.fake.setLatency(100);
    try {
      const runs = await runSync(api.db, api.hosts[0]!, second);
      expect(runs).toHaveLength(2);
      // Either the second found the lock taken, or it started after the first had sent everything.
      for (const run of runs) {
        if (run.outcome !== 'skipped_locked') expect(run.outcome).toBe('completed');
      }
    } finally {
      api.fake.setLatency(0);
      await second.stop();
      api.hosts.splice(api.hosts.indexOf(second), 1);
    }
    expect(meterCalls(customerId)).toHaveLength(12);
    expect(eventsOf(customerId)).toHaveLength(12);
    expectNoDuplicates(customerId);
    expect((await tokenRows(userId)).every((row) => row.stripe_resolution === 'sent')).toBe(true);
  });

  it('loses nothing while Stripe is down for several runs, then sends each row once', async () => {
    const { customerId, userId } = await customerWithUsage([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    try {
      api.fake.setMeterEventMode({ kind: 'error', status: 500 });
      for (let run = 0; run < 2; run++) {
        const [report] = await runSync(api.db, api.hosts[0]!);
        expect(report!.outcome).toBe('backed_off');
        expect(report!.details).toMatchObject({ stopped: 'stripe_unavailable' });
      }
      api.fake.setMeterEventMode({ kind: 'drop_connection' });
      const [unreachable] = await runSync(api.db, api.hosts[0]!);
      expect(unreachable!.outcome).toBe('backed_off');
      const waiting = await tokenRows(userId);
      expect(waiting.every((row) => row.stripe_sent_at === null && row.stripe_failed_at === null)).toBe(true);
      expect(eventsOf(customerId)).toHaveLength(0);
    } finally {
      api.fake.setMeterEventMode({ kind: 'normal' });
    }
    const [recovered] = await runSync(api.db, api.hosts[0]!);
    expect(recovered!.outcome).toBe('completed');
    expect((await tokenRows(userId)).every((row) => row.stripe_resolution === 'sent')).toBe(true);
    expect(eventsOf(customerId)).toHaveLength(3);
    expectNoDuplicates(customerId);
  });

  it('backs off on 429 and leaves the rest for the next run, not in doubt', async () => {
    const { customerId, userId } = await customerWithUsage([
      [1, 1],
      [1, 2],
    ]);
    try {
      api.fake.setMeterEventMode({ kind: 'error', status: 429 });
      const [limited] = await runSync(api.db, api.hosts[0]!);
      expect(limited!.outcome).toBe('backed_off');
      expect(limited!.details).toMatchObject({ stopped: 'rate_limited' });
      const rows = await tokenRows(userId);
      expect(rows.every((row) => row.stripe_sent_at === null && row.stripe_attempted_at === null)).toBe(true);
    } finally {
      api.fake.setMeterEventMode({ kind: 'normal' });
    }
    await runSync(api.db, api.hosts[0]!);
    expect(eventsOf(customerId)).toHaveLength(2);
  });

  it('reports usage older than 35 days that never reached Stripe instead of sending or dropping it', async () => {
    const { customerId, userId } = await customerWithUsage([[50, 50]], { recordedAt: new Date(Date.now() - 40 * 24 * HOUR) });
    const [run] = await runSync(api.db, api.hosts[0]!);
    const [row] = await tokenRows(userId);
    expect(row!.stripe_sent_at).toBeNull();
    expect(row!.stripe_failed_at).toBeInstanceOf(Date);
    expect(row!.stripe_resolution).toBe('expired');
    expect(row!.stripe_error).toMatch(/older than the 35 days/);
    expect((run!.details as { expired: number }).expired).toBeGreaterThanOrEqual(1);
    expect((run!.details as { expired_examples: string[] }).expired_examples).toContain(`tokens:${row!.id}`);
    expect(meterCalls(customerId)).toHaveLength(0);
  });

  describe('a row in doubt for longer than Stripe remembers identifiers', () => {
    async function rowInDoubtSince(hoursAgo: number, tokens: number) {
      const recordedAt = new Date(Date.now() - hoursAgo * HOUR);
      const usage = await customerWithUsage([[tokens, 0]], { recordedAt });
      await api.db
        .updateTable('token_usage')
        .set({ stripe_attempted_at: recordedAt, stripe_attempts: 1 })
        .where('user_id', '=', usage.userId)
        .execute();
      return { ...usage, recordedAt, identifier: tokenUsageIdentifier(usage.examples[0]!.exampleId) };
    }

    function summaryCalls(customerId: string) {
      return api.fake.calls('GET', /\/event_summaries$/).filter((call) => call.query.customer === customerId);
    }

    it('is marked sent without a new event when Stripe\'s summary shows it arrived', async () => {
      const doubt = await rowInDoubtSince(25, 77);
      const timestamp = Math.floor(doubt.recordedAt.getTime() / 1000);
      api.fake.seedMeterEvent({
        identifier: doubt.identifier,
        eventName: TEST_METER_EVENTS.tokens,
        customer: doubt.customerId,
        value: 77,
        timestamp,
        acceptedAt: doubt.recordedAt.getTime(),
      });
      await runSync(api.db, api.hosts[0]!);
      const [row] = await tokenRows(doubt.userId);
      expect(row!.stripe_resolution).toBe('reconciled_in_stripe');
      expect(row!.stripe_sent_at).toBeInstanceOf(Date);
      expect(meterCalls(doubt.customerId)).toHaveLength(0);
      const [summary] = summaryCalls(doubt.customerId);
      expect(summary!.query).toMatchObject({
        start_time: String(timestamp - (timestamp % 60)),
        end_time: String(timestamp - (timestamp % 60) + 60),
      });
    });

    it('is resent once when Stripe\'s summary shows it never arrived', async () => {
      const doubt = await rowInDoubtSince(26, 40);
      await runSync(api.db, api.hosts[0]!);
      const [row] = await tokenRows(doubt.userId);
      expect(row!.stripe_resolution).toBe('reconciled_resent');
      expect(summaryCalls(doubt.customerId)).toHaveLength(1);
      expect(eventsOf(doubt.customerId).map((event) => [event.identifier, event.value])).toEqual([[doubt.identifier, 40]]);
    });

    it('is recorded as ambiguous, and not resent, when Stripe has something else', async () => {
      const doubt = await rowInDoubtSince(30, 12);
      api.fake.seedMeterEvent({
        identifier: 'someone-else',
        eventName: TEST_METER_EVENTS.tokens,
        customer: doubt.customerId,
        value: 5,
        timestamp: Math.floor(doubt.recordedAt.getTime() / 1000),
        acceptedAt: doubt.recordedAt.getTime(),
      });
      await runSync(api.db, api.hosts[0]!);
      const [row] = await tokenRows(doubt.userId);
      expect(row!.stripe_resolution).toBe('reconcile_ambiguous');
      expect(row!.stripe_failed_at).toBeInstanceOf(Date);
      expect(row!.stripe_error).toMatch(/Stripe has 5 for that minute, 0 was confirmed, 12 is in doubt/);
      expect(meterCalls(doubt.customerId)).toHaveLength(0);
    });
  });

  it('keeps the rollup GET /v1/usage reads in step with every usage insert', async () => {
    const userId = await addUser(api.db, null);
    await addCompletedExample(api.db, { userId, fixture, inputTokens: 11, outputTokens: 22 });
    await addCompletedExample(api.db, { userId, fixture, inputTokens: 1, outputTokens: 2 });
    const { rows } = await sql<{ input_tokens: number; output_tokens: number; examples: number }>`
      select input_tokens, output_tokens, examples from token_usage_daily where user_id = ${userId}`.execute(api.db);
    expect(rows).toEqual([{ input_tokens: 12, output_tokens: 24, examples: 2 }]);
  });
});
