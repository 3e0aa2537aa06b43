import { sql } from 'kysely';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeBillingPeriods } from '../../shared/billing/periodClose.js';
import { loadStripeSetupConfig } from '../../shared/config.js';
import { storageSampleIdentifier, tokenUsageIdentifier } from '../../shared/billing/meterEvents.js';
import { createStripeClient } from '../../shared/billing/stripeClient.js';
import { syncUsageToStripe } from '../../shared/billing/stripeSync.js';
import { runBillingResendCommand } from '../../scripts/billingResend.js';
import { addCompletedExample, addSession, addSubscription, addUser, createUsageFixture, runSync, startBillingApi, type BillingApi, type UsageFixture } from '../support/billingFixtures.js';
import { TEST_METER_EVENTS } from '../../fakes/fakeStripe.js';

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

/** A customer subscribed (in the local copy) since 60 days ago, with token usage. */
async function customerWithUsage(tokens: Array<[number, number]>, options: { recordedAt?: Date } = {}) {
  const customerId = api.fake.addCustomer();
  const userId = await addUser(api.db, customerId);
  await addSubscription(api.db, { userId });
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
          payload: { stripe_customer_id: customerId, value: '2500400' },
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
    await api.db.insertInto('storage_samples').values({ user_id: userId, hour, bytes: 400 }).execute();
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
    await addSubscription(api.db, { userId: badUser });
    await addCompletedExample(api.db, { userId: badUser, fixture, inputTokens: 3, outputTokens: 4 });
    const good = await customerWithUsage([[10, 10]]);

    const [run] = await runSync(api.db, api.hosts[0]!);
    // Not `completed`: a row was refused, and the run says so.
    expect(run!.outcome).toBe('completed_with_errors');
    expect(run!.details).toMatchObject({ rejected: 1 });
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

  it('sends a large backlog over the v2 meter event stream, 100 events a call, and a resend of rows in doubt bills nothing twice', async () => {
    const customerId = api.fake.addCustomer();
    const userId = await addUser(api.db, customerId);
    await addSubscription(api.db, { userId });
    const sessionId = await addSession(api.db, { userId, suiteId: fixture.suiteId });
    for (let i = 0; i < 250; i++) {
      await addCompletedExample(api.db, { userId, fixture, sessionId, inputTokens: 10 + i, outputTokens: 1 });
    }
    const streamCallsBefore = api.fake.calls('POST', '/v2/billing/meter_event_stream').length;
    const run = await syncUntilNotLocked();
    expect(run.outcome).toBe('completed');
    const rows = await tokenRows(userId);
    expect(rows.every((row) => row.stripe_resolution === 'sent')).toBe(true);
    expect(meterCalls(customerId)).toHaveLength(0);
    expect(api.fake.calls('POST', '/v2/billing/meter_event_stream').length - streamCallsBefore).toBeGreaterThanOrEqual(3);
    expect(eventsOf(customerId)).toHaveLength(250);
    expect(eventsOf(customerId).reduce((sum, event) => sum + event.value, 0)).toBe(
      rows.reduce((sum, row) => sum + row.input_tokens + row.output_tokens, 0),
    );
    expect(new Set(eventsOf(customerId).map((event) => event.identifier))).toEqual(
      new Set(rows.map((row) => tokenUsageIdentifier(row.example_id))),
    );

    // As if the run had died after Stripe took the calls: in doubt, resent with the same identifiers.
    await api.db
      .updateTable('token_usage')
      .set({ stripe_sent_at: null, stripe_resolution: null })
      .where('user_id', '=', userId)
      .execute();
    api.fake.expireMeterEventSessions();
    const resent = await syncUntilNotLocked();
    expect(resent.outcome).toBe('completed');
    expect((await tokenRows(userId)).every((row) => row.stripe_resolution === 'sent')).toBe(true);
    expect(eventsOf(customerId)).toHaveLength(250);
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

  describe('a backlog of several pages (the next page is read and marked while the calls of one run)', () => {
    const PAGE = 50;

    /** 150 rows of one customer, recorded in the same microsecond, so that pages end inside a millisecond. */
    async function backlogInOneMicrosecond() {
      const { customerId, userId } = await customerWithUsage(Array.from({ length: 3 * PAGE }, (_, i) => [10 + i, 1] as [number, number]));
      await sql`
        update token_usage set recorded_at = date_trunc('second', recorded_at) + interval '0.123456 seconds'
        where user_id = ${userId}`.execute(api.db);
      return { customerId, userId };
    }

    function syncOf(userId: string) {
      const stripe = createStripeClient({ secretKey: api.fake.secretKey, apiUrl: api.fake.url, timeoutMs: 5_000 }, { retries: 0 });
      return syncUsageToStripe(
        api.db,
        stripe,
        { eventNames: TEST_METER_EVENTS, concurrency: 4, timeBudgetMs: 60_000, invoiceGraceMs: HOUR, batchSize: PAGE, userIds: [userId] },
        { log: () => undefined, warn: () => undefined, error: () => undefined },
      );
    }

    it('calls Stripe once per row, though pages end inside a millisecond', async () => {
      const { customerId, userId } = await backlogInOneMicrosecond();
      const report = await syncOf(userId);
      expect(report.outcome).toBe('completed');
      expect(report.details).toMatchObject({ sent: 3 * PAGE, already_in_stripe: 0 });
      expect(meterCalls(customerId)).toHaveLength(3 * PAGE);
      expect(eventsOf(customerId)).toHaveLength(3 * PAGE);
      expect((await tokenRows(userId)).every((row) => row.stripe_resolution === 'sent')).toBe(true);
    });

    it('leaves a page marked during calls that hit a 429 as never attempted, and sends it next time', async () => {
      const { customerId, userId } = await backlogInOneMicrosecond();
      // The rate limit begins in the second page's calls, while the third page has been read and marked.
      const limitAfter = PAGE + 10;
      const watch = setInterval(() => {
        if (meterCalls(customerId).length >= limitAfter) api.fake.setMeterEventMode({ kind: 'error', status: 429 });
      }, 1);
      let limited;
      try {
        limited = await syncOf(userId);
      } finally {
        clearInterval(watch);
        api.fake.setMeterEventMode({ kind: 'normal' });
      }
      expect(limited.outcome).toBe('backed_off');
      const sent = eventsOf(customerId).length;
      expect(sent).toBeGreaterThanOrEqual(limitAfter);
      expect(sent).toBeLessThan(2 * PAGE);
      const rows = await tokenRows(userId);
      expect(rows.filter((row) => row.stripe_resolution === 'sent')).toHaveLength(sent);
      // Not in doubt: Stripe processed nothing of these, and the third page was never called.
      expect(rows.filter((row) => row.stripe_sent_at === null).every((row) => row.stripe_attempted_at === null && row.stripe_attempts === 0)).toBe(true);

      const resumed = await syncOf(userId);
      expect(resumed.outcome).toBe('completed');
      expect(eventsOf(customerId)).toHaveLength(3 * PAGE);
      expectNoDuplicates(customerId);
    });
  });

  it('carries usage whose period was invoiced before it reached Stripe into the open period, instead of letting it expire', async () => {
    const recordedAt = new Date(Date.now() - 40 * 24 * HOUR);
    const { customerId, userId } = await customerWithUsage([[50, 50]], { recordedAt });
    const before = Math.floor(Date.now() / 1000);
    const [run] = await runSync(api.db, api.hosts[0]!);
    const [row] = await tokenRows(userId);
    expect(row!.stripe_resolution).toBe('sent');
    expect((run!.details as { carried: number }).carried).toBeGreaterThanOrEqual(1);
    const [event] = eventsOf(customerId);
    // Sent with the time of sending, so that the open period's invoice bills it; the row remembers that time.
    expect(event!.value).toBe(100);
    expect(event!.timestamp).toBeGreaterThanOrEqual(before);
    const stored = await api.db.selectFrom('token_usage').select('stripe_timestamp').where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(stored.stripe_timestamp?.getTime()).toBe(event!.timestamp * 1000);
  });

  it('does not bill usage from before the subscription, and records a closed period with no subscription to carry it as stranded', async () => {
    const customerId = api.fake.addCustomer();
    const userId = await addUser(api.db, customerId);
    await addSubscription(api.db, { userId, startedAt: new Date(Date.now() - 2 * 24 * HOUR) });
    await addCompletedExample(api.db, { userId, fixture, inputTokens: 9, outputTokens: 0, recordedAt: new Date(Date.now() - 3 * 24 * HOUR) });
    const ended = api.fake.addCustomer();
    const endedUser = await addUser(api.db, ended);
    await addSubscription(api.db, { userId: endedUser, startedAt: new Date(Date.now() - 80 * 24 * HOUR), endedAt: new Date(Date.now() - 40 * 24 * HOUR) });
    await addCompletedExample(api.db, { userId: endedUser, fixture, inputTokens: 4, outputTokens: 0, recordedAt: new Date(Date.now() - 45 * 24 * HOUR) });

    const [run] = await runSync(api.db, api.hosts[0]!);
    expect((await tokenRows(userId))[0]).toMatchObject({ stripe_resolution: 'not_billable', stripe_attempts: 0 });
    expect((await tokenRows(endedUser))[0]).toMatchObject({ stripe_resolution: 'stranded', stripe_sent_at: null });
    expect((await tokenRows(endedUser))[0]!.stripe_failed_at).toBeInstanceOf(Date);
    expect(run!.outcome).toBe('completed_with_errors');
    expect(meterCalls(customerId)).toHaveLength(0);
    expect(meterCalls(ended)).toHaveLength(0);
  });

  it('tries again what an archived meter refused, and resends it at once after `billing:resend` once the meter is back', async () => {
    const { customerId, userId } = await customerWithUsage([[6, 1]]);
    const meter = [...api.fake.meters.values()].find((candidate) => candidate.event_name === TEST_METER_EVENTS.tokens)!;
    const stripe = createStripeClient({ secretKey: api.fake.secretKey, apiUrl: api.fake.url, timeoutMs: 5_000 }, { retries: 0 });
    await stripe.billing.meters.deactivate(meter.id);
    try {
      const [refused] = await runSync(api.db, api.hosts[0]!);
      expect(refused!.outcome).toBe('completed_with_errors');
      expect(refused!.details).toMatchObject({ retrying: 1 });
      const [row] = await tokenRows(userId);
      expect(row).toMatchObject({ stripe_resolution: 'retrying', stripe_sent_at: null, stripe_failed_at: null, stripe_attempted_at: null });
      const retryAt = (await api.db.selectFrom('token_usage').select('stripe_retry_at').where('user_id', '=', userId).executeTakeFirstOrThrow())
        .stripe_retry_at as Date;
      expect(retryAt.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
      // Not before its time.
      await runSync(api.db, api.hosts[0]!);
      expect(meterCalls(customerId)).toHaveLength(1);
    } finally {
      await stripe.billing.meters.reactivate(meter.id);
    }
    const output: string[] = [];
    const code = await runBillingResendCommand(['--kind', 'tokens', '--user', userId], { DATABASE_URL: api.databaseUrl }, {
      log: (line) => output.push(line),
      error: (line) => output.push(line),
    });
    expect(code).toBe(0);
    expect(output[0]).toMatch(/^tokens: 1 rows handed back/);
    await runSync(api.db, api.hosts[0]!);
    expect((await tokenRows(userId))[0]!.stripe_resolution).toBe('sent');
    expect(eventsOf(customerId).map((event) => event.value)).toEqual([7]);
  });

  it('takes back what Stripe refused after accepting it, as its error report says: healable ones retried, the others failed', async () => {
    const healable = await customerWithUsage([[3, 0]]);
    api.fake.refuseMeterEventsLater({ count: 1, code: 'timestamp_in_future', message: 'Timestamp is ahead of Stripe.' });
    await runSync(api.db, api.hosts[0]!);
    await api.fake.flushWebhooks();
    const invalid = await customerWithUsage([[4, 0]]);
    api.fake.refuseMeterEventsLater({ count: 1, code: 'meter_event_invalid_value', message: 'The value is not valid.' });
    await runSync(api.db, api.hosts[0]!);
    await api.fake.flushWebhooks();

    const [retried] = await tokenRows(healable.userId);
    expect(retried).toMatchObject({ stripe_sent_at: null, stripe_failed_at: null, stripe_resolution: 'async_rejected_retrying' });
    expect(retried!.stripe_error).toBe('async timestamp_in_future: Timestamp is ahead of Stripe.');
    const [failed] = await tokenRows(invalid.userId);
    expect(failed).toMatchObject({ stripe_sent_at: null, stripe_resolution: 'async_rejected' });
    expect(failed!.stripe_failed_at).toBeInstanceOf(Date);
    const reports = await api.db.selectFrom('stripe_meter_error_reports').select(['error_count', 'matched_rows']).execute();
    expect(reports).toEqual(expect.arrayContaining([{ error_count: 1, matched_rows: 1 }]));

    // Handed back, each goes again under a new identifier, since Stripe may still hold the first.
    await runBillingResendCommand([], { DATABASE_URL: api.databaseUrl }, { log: () => undefined, error: () => undefined });
    await runSync(api.db, api.hosts[0]!);
    for (const { customerId, examples } of [healable, invalid]) {
      expect(eventsOf(customerId).map((event) => event.identifier)).toEqual([`${tokenUsageIdentifier(examples[0]!.exampleId)}-r1`]);
    }
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

  describe('closing a period, inside the invoice\'s grace period', () => {
    const MINUTE = 60_000;
    const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

    function closeDeps() {
      const { billing } = loadStripeSetupConfig({
        STRIPE_SECRET_KEY: api.fake.secretKey,
        STRIPE_TOKENS_METER_EVENT: TEST_METER_EVENTS.tokens,
        STRIPE_STORAGE_METER_EVENT: TEST_METER_EVENTS.storage,
      });
      return {
        db: api.db,
        stripe: createStripeClient({ secretKey: api.fake.secretKey, apiUrl: api.fake.url, timeoutMs: 5_000 }, { retries: 0 }),
        blobs: BlobServiceClient.fromConnectionString(inject('storageConnectionString')),
        billing,
        log: silent,
      };
    }

    async function endedSubscriber(minutesAgo: number) {
      const customerId = api.fake.addCustomer();
      const userId = await addUser(api.db, customerId);
      const endedAt = new Date(Date.now() - minutesAgo * MINUTE);
      const subscriptionId = await addSubscription(api.db, { userId, startedAt: new Date(Date.now() - 10 * 24 * HOUR), endedAt });
      return { customerId, userId, endedAt, subscriptionId };
    }

    it('sends the last usage at once, then finds and resends what Stripe dropped without naming it', async () => {
      const { customerId, userId, endedAt, subscriptionId } = await endedSubscriber(20);
      const values = [10, 20, 30];
      const examples = [];
      for (const [index, minutes] of [150, 100, 70].entries()) {
        examples.push(
          await addCompletedExample(api.db, {
            userId,
            fixture,
            inputTokens: values[index]!,
            outputTokens: 0,
            recordedAt: new Date(endedAt.getTime() - minutes * MINUTE),
          }),
        );
      }
      // Stripe takes the first event and drops it later, in an error report that samples none.
      api.fake.refuseMeterEventsLater({ count: 1, code: 'meter_event_invalid_value', message: 'Invalid.', samplesPerReport: 0 });
      const deps = closeDeps();
      const start = Date.now();

      const closeOf = () =>
        api.db.selectFrom('billing_period_closes').selectAll().where('stripe_subscription_id', '=', subscriptionId).executeTakeFirstOrThrow();

      await closeBillingPeriods(deps, new Date(start));
      // Sent at once; too fresh for Stripe's summaries to judge.
      expect(await closeOf()).toMatchObject({ outcome: 'pending', period_end: endedAt, details: { tokens: { resent: 0 } } });
      expect(eventsOf(customerId).map((event) => event.value).sort((a, b) => a - b)).toEqual([20, 30]);

      // A quarter of an hour on, Stripe's summaries have settled: the missing row goes again, under a new identifier.
      await closeBillingPeriods(deps, new Date(start + 16 * MINUTE));
      expect(await closeOf()).toMatchObject({ outcome: 'pending', details: { tokens: { resent: 1 } } });
      expect(eventsOf(customerId).map((event) => event.identifier)).toContain(`${tokenUsageIdentifier(examples[0]!.exampleId)}-r1`);

      await closeBillingPeriods(deps, new Date(start + 32 * MINUTE));
      const closed = await closeOf();
      expect(closed).toMatchObject({ outcome: 'reconciled', details: { tokens: { resent: 0, unsettled_hours: 0 } } });
      expect(eventsOf(customerId).reduce((sum, event) => sum + event.value, 0)).toBe(60);
      // Closed: later runs leave it alone.
      await closeBillingPeriods(deps, new Date(start + 42 * MINUTE));
      expect((await closeOf()).closed_at).toEqual(closed.closed_at);
    });

    it('records a discrepancy, and resends nothing, when Stripe has more than was sent', async () => {
      const { customerId, userId, endedAt, subscriptionId } = await endedSubscriber(45);
      await addCompletedExample(api.db, { userId, fixture, inputTokens: 5, outputTokens: 0, recordedAt: new Date(endedAt.getTime() - 2 * HOUR) });
      api.fake.seedMeterEvent({
        identifier: `someone-else-${Date.now()}`,
        eventName: TEST_METER_EVENTS.tokens,
        customer: customerId,
        value: 3,
        timestamp: Math.floor((endedAt.getTime() - 3 * HOUR) / 1000),
        acceptedAt: Date.now(),
      });
      const deps = closeDeps();
      await closeBillingPeriods(deps, new Date());
      await closeBillingPeriods(deps, new Date(Date.now() + 16 * MINUTE));
      const close = await api.db.selectFrom('billing_period_closes').selectAll().where('stripe_subscription_id', '=', subscriptionId).executeTakeFirstOrThrow();
      expect(close.outcome).toBe('discrepancy');
      expect(close.details).toMatchObject({ tokens: { excess: [{ kind: 'tokens', in_stripe: 3, sent: 0 }] } });
      expect(meterCalls(customerId)).toHaveLength(1);
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
