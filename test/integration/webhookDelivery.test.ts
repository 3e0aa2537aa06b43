import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressRefusal, endpointUrlRefusal, type HostResolver } from '../../shared/webhooks/webhookAddressPolicy.js';
import { deliverDueWebhooks, retryDelaySeconds, type WebhookDeliveryDeps } from '../../shared/webhooks/webhookDeliverer.js';
import { purgeWebhookEvents, recordWebhookEvent } from '../../shared/webhooks/webhookOutbox.js';
import { generateWebhookSecret } from '../../shared/webhooks/webhookSignature.js';
import { useTestDatabase } from '../support/database.js';
import { signatureVerifies, startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

/*
 * The deliverer itself, in process against a database of its own: timeouts, redirects, floods, the retry window,
 * disabling, and the address policy with production rules on (the API under test runs with TRACEPIPE_ENV=test).
 */

const { db } = useTestDatabase();
let receiver: WebhookReceiver;
const DEV = { allowLoopback: true };
const PRODUCTION = { allowLoopback: false };

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());

async function addUser(): Promise<string> {
  const row = await db()
    .insertInto('users')
    .values({ display_name: 'Webhook tester', email: `hooks-${randomUUID()}@example.com` })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function addEndpoint(userId: string, url: string, events = ['example.failed']) {
  const secret = generateWebhookSecret();
  const row = await db()
    .insertInto('webhook_endpoints')
    .values({ user_id: userId, url, events, secret })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, secret };
}

async function emit(userId: string, data: Record<string, unknown> = { id: randomUUID() }) {
  return db().transaction().execute((trx) => recordWebhookEvent(trx, userId, 'example.failed', data));
}

function deps(overrides: Partial<WebhookDeliveryDeps> = {}): WebhookDeliveryDeps {
  return { db: db(), policy: DEV, timeoutMs: 500, log: () => undefined, ...overrides };
}

const run = (overrides: Partial<WebhookDeliveryDeps> = {}) =>
  deliverDueWebhooks(deps(overrides), { batch: 50, concurrency: 4, timeBudgetMs: 20_000 });

async function deliveryOf(eventId: string) {
  return db().selectFrom('webhook_deliveries').selectAll().where('event_id', '=', eventId).executeTakeFirstOrThrow();
}

describe('delivering the outbox', () => {
  it('signs each POST and marks it delivered on a 2xx', async () => {
    const userId = await addUser();
    const endpoint = await addEndpoint(userId, `${receiver.url}/signed`);
    const eventId = await emit(userId, { id: 'x1', status: 'FAILED' });
    await run();
    const got = receiver.received.filter((request) => request.path === '/signed');
    expect(got).toHaveLength(1);
    expect(got[0]!.headers['tracepipe-event-id']).toBe(eventId);
    expect(got[0]!.event).toMatchObject({ id: eventId, type: 'example.failed', data: { id: 'x1', status: 'FAILED' } });
    expect(signatureVerifies(endpoint.secret, got[0]!.body, got[0]!.headers['tracepipe-signature'] as string)).toBe(true);
    expect(signatureVerifies(generateWebhookSecret(), got[0]!.body, got[0]!.headers['tracepipe-signature'] as string)).toBe(false);
    const delivery = await deliveryOf(eventId);
    expect(delivery).toMatchObject({ attempts: 1, last_status: 200, next_attempt_at: null, failed_at: null });
    expect(delivery.delivered_at).toBeInstanceOf(Date);
  });

  it('retries a receiver that answers 500 or does not answer in time, with growing delays', async () => {
    const userId = await addUser();
    await addEndpoint(userId, `${receiver.url}/flaky`);
    receiver.plan({ status: 500 });
    const eventId = await emit(userId);
    await run();
    let delivery = await deliveryOf(eventId);
    expect(delivery).toMatchObject({ attempts: 1, last_status: 500, last_error: 'HTTP 500', delivered_at: null, failed_at: null });
    expect(delivery.next_attempt_at!.getTime() - Date.now()).toBeGreaterThan((retryDelaySeconds(1) - 5) * 1000);

    receiver.plan({ hang: true });
    await db().updateTable('webhook_deliveries').set({ next_attempt_at: sql`now()` }).where('id', '=', delivery.id).execute();
    await run();
    delivery = await deliveryOf(eventId);
    expect(delivery).toMatchObject({ attempts: 2, last_status: null, last_error: 'no answer within 500 ms', delivered_at: null });
    expect(delivery.next_attempt_at!.getTime() - Date.now()).toBeGreaterThan((retryDelaySeconds(2) - 5) * 1000);

    await db().updateTable('webhook_deliveries').set({ next_attempt_at: sql`now()` }).where('id', '=', delivery.id).execute();
    await run();
    delivery = await deliveryOf(eventId);
    expect(delivery).toMatchObject({ attempts: 3, last_status: 200, next_attempt_at: null });
    // Three requests, one event id: what a receiver dedupes on.
    const ids = receiver.received.filter((request) => request.path === '/flaky').map((request) => request.event.id);
    expect(ids).toEqual([eventId, eventId, eventId]);
    expect(retryDelaySeconds(1)).toBe(30);
    expect(retryDelaySeconds(20)).toBe(3600);
  });

  it('follows no redirect, and reads no more than 64 KiB of a flood', async () => {
    const userId = await addUser();
    await addEndpoint(userId, `${receiver.url}/redirecting`);
    receiver.plan({ redirectTo: `${receiver.url}/elsewhere` });
    const redirected = await emit(userId);
    await run();
    expect(await deliveryOf(redirected)).toMatchObject({ last_status: 307, last_error: 'HTTP 307: redirects are not followed', delivered_at: null });
    expect(receiver.received.some((request) => request.path === '/elsewhere')).toBe(false);

    const flooder = await addUser();
    await addEndpoint(flooder, `${receiver.url}/flood`);
    receiver.plan({ floodBytes: 1024 ** 3 });
    const flooded = await emit(flooder);
    await run({ timeoutMs: 5_000 });
    // A 200 was answered; the gigabyte behind it was not read.
    expect(await deliveryOf(flooded)).toMatchObject({ last_status: 200, next_attempt_at: null });
  });

  it('fails a delivery once its 24 hours of retries are over', async () => {
    const userId = await addUser();
    await addEndpoint(userId, `${receiver.url}/gone`);
    receiver.plan({ status: 503 });
    const eventId = await emit(userId);
    await db().updateTable('webhook_deliveries').set({ retry_until: sql`now() + interval '1 second'` }).where('event_id', '=', eventId).execute();
    await run();
    const delivery = await deliveryOf(eventId);
    expect(delivery).toMatchObject({ last_status: 503, next_attempt_at: null, delivered_at: null });
    expect(delivery.failed_at).toBeInstanceOf(Date);
  });

  it('disables an endpoint whose every delivery failed for 3 days, says why, and sends it nothing more', async () => {
    const userId = await addUser();
    const endpoint = await addEndpoint(userId, `${receiver.url}/broken`);
    await db()
      .updateTable('webhook_endpoints')
      .set({ failing_since: sql`now() - interval '72 hours 1 minute'` })
      .where('id', '=', endpoint.id)
      .execute();
    receiver.plan({ status: 500 });
    await emit(userId);
    expect((await run()).disabled).toBe(1);
    const row = await db().selectFrom('webhook_endpoints').selectAll().where('id', '=', endpoint.id).executeTakeFirstOrThrow();
    expect(row.enabled).toBe(false);
    expect(row.disabled_reason).toMatch(/every delivery failed since .* \(3 days\); the last: HTTP 500/);
    const before = receiver.received.filter((request) => request.path === '/broken').length;
    await emit(userId);
    await run();
    expect(receiver.received.filter((request) => request.path === '/broken')).toHaveLength(before);
  });

  it('clears the failure streak on a success, so an endpoint that recovers is not disabled', async () => {
    const userId = await addUser();
    const endpoint = await addEndpoint(userId, `${receiver.url}/recovers`);
    await db().updateTable('webhook_endpoints').set({ failing_since: sql`now() - interval '71 hours'` }).where('id', '=', endpoint.id).execute();
    await emit(userId);
    await run();
    const row = await db().selectFrom('webhook_endpoints').selectAll().where('id', '=', endpoint.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ enabled: true, failing_since: null });
  });
});

describe('the outbox\'s history', () => {
  it('purges settled events after 30 days, and keeps one still being retried', async () => {
    const userId = await addUser();
    await addEndpoint(userId, `${receiver.url}/history`);
    const settled = await emit(userId);
    const retried = await emit(userId);
    const recent = await emit(userId);
    await db().updateTable('webhook_deliveries').set({ next_attempt_at: null, delivered_at: sql`now()` }).where('event_id', 'in', [settled, recent]).execute();
    await db().updateTable('webhook_deliveries').set({ next_attempt_at: sql`now() + interval '1 hour'` }).where('event_id', '=', retried).execute();
    await db().updateTable('webhook_events').set({ created_at: sql`now() - interval '31 days'` }).where('id', 'in', [settled, retried]).execute();
    await purgeWebhookEvents(db());
    const left = await db().selectFrom('webhook_events').select('id').where('user_id', '=', userId).execute();
    expect(left.map((row) => row.id).sort()).toEqual([retried, recent].sort());
    expect(await db().selectFrom('webhook_deliveries').select('id').where('event_id', '=', settled).execute()).toEqual([]);
  });
});

describe('the address policy (no SSRF)', () => {
  const REFUSED: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.0.10', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:10.0.0.1', 'private'],
    ['2002:a00:1::1', '6to4'],
    ['192.0.2.1', 'reserved'],
  ];

  it.each(REFUSED)('refuses %s (%s) with production rules', (address, range) => {
    expect(addressRefusal(address, PRODUCTION)).toMatch(new RegExp(`is a ${range} address`));
  });

  it('allows public addresses, and loopback only in development and test', () => {
    expect(addressRefusal('93.184.216.34', PRODUCTION)).toBeNull();
    expect(addressRefusal('2606:2800:220:1:248:1893:25c8:1946', PRODUCTION)).toBeNull();
    expect(addressRefusal('127.0.0.1', DEV)).toBeNull();
    expect(addressRefusal('::1', DEV)).toBeNull();
    expect(addressRefusal('10.0.0.1', DEV)).toMatch(/private/);
    expect(addressRefusal('169.254.169.254', DEV)).toMatch(/linkLocal/);
  });

  it('refuses at creation: http in production, loopback names, and names that resolve to any refused address', async () => {
    const resolve: HostResolver = async (host) =>
      host === 'mixed.example.com'
        ? [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }]
        : host === 'public.example.com'
          ? [{ address: '93.184.216.34', family: 4 }]
          : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
    expect(await endpointUrlRefusal('http://public.example.com/hook', PRODUCTION, resolve)).toMatch(/must be an https:\/\/ URL/);
    expect(await endpointUrlRefusal('https://public.example.com/hook', PRODUCTION, resolve)).toBeNull();
    expect(await endpointUrlRefusal('https://localhost/hook', PRODUCTION, resolve)).toMatch(/not a public host/);
    expect(await endpointUrlRefusal('https://[::1]/hook', PRODUCTION, resolve)).toMatch(/loopback/);
    expect(await endpointUrlRefusal('https://mixed.example.com/hook', PRODUCTION, resolve)).toMatch(/10\.0\.0\.5 is a private address/);
    expect(await endpointUrlRefusal('https://intranet/hook', PRODUCTION, resolve)).toMatch(/not a public host name/);
    expect(await endpointUrlRefusal('https://user:pw@public.example.com/', PRODUCTION, resolve)).toMatch(/user name or password/);
    // Not resolvable yet: accepted, and checked again at every delivery.
    expect(await endpointUrlRefusal('https://later.example.com/hook', PRODUCTION, resolve)).toBeNull();
  });

  it('refuses at delivery time with production rules: nothing is sent, the delivery says why', async () => {
    const userId = await addUser();
    // Saved while the name pointed elsewhere; now it resolves to the metadata address (DNS rebinding).
    await addEndpoint(userId, 'https://rebinding.example.com/hook');
    const loopback = await addUser();
    await addEndpoint(loopback, `${receiver.url.replace('http:', 'https:')}/prod-loopback`);
    const rebound = await emit(userId);
    const toLoopback = await emit(loopback);
    const before = receiver.received.length;
    await run({ policy: PRODUCTION, resolve: async () => [{ address: '169.254.169.254', family: 4 }] });
    expect(receiver.received).toHaveLength(before);
    expect((await deliveryOf(rebound)).last_error).toBe(
      'refused: rebinding.example.com resolves to 169.254.169.254 is a linkLocal address, not a public one',
    );
    expect((await deliveryOf(toLoopback)).last_error).toMatch(/^refused: url 127\.0\.0\.1 is a loopback address/);
  });

  it('connects to the address it checked, not to a second resolution', async () => {
    const userId = await addUser();
    const port = new URL(receiver.url).port;
    await addEndpoint(userId, `http://pinned.example.com:${port}/pinned`);
    const eventId = await emit(userId);
    // The name exists nowhere but in this resolver: the request can only have gone to the address it answered.
    await run({ resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    expect(await deliveryOf(eventId)).toMatchObject({ last_status: 200 });
    const got = receiver.received.find((request) => request.path === '/pinned');
    expect(got?.headers.host).toBe(`pinned.example.com:${port}`);
  });
});
