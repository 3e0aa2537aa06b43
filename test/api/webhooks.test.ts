import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { addStoredExample, buildDatasetViaApi, gmailConversation } from '../support/datasets.js';
import { inject } from 'vitest';
import { invokeTimer } from '../support/billingFixtures.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { createExampleViaApi } from '../support/examples.js';
import { callApi } from '../support/http.js';
import { waitForFreshWindow } from '../support/rateLimitWindow.js';
import { eventually, postSessionMultipart, waitUntilIndexed } from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';
import { signatureVerifies, startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  secret?: string;
}

interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status: number | null;
  next_attempt_at: string | null;
}

const database = useApiDatabaseClient();
let receiver: WebhookReceiver;
let user: TestUser;
let pipeline: TestUser;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  [user, pipeline] = await Promise.all([createTestUser(), createTestUser({ scopes: ['api', 'pipeline'] })]);
});
afterAll(() => receiver.close());

async function createEndpoint(owner: TestUser, body: Record<string, unknown>): Promise<Endpoint> {
  const response = await callApi('/v1/webhook-endpoints', { method: 'POST', key: owner.key, body });
  expect(response.status, response.text).toBe(201);
  return response.json as Endpoint;
}

function fieldsOf(json: unknown): string[] {
  return ((json as { error: { details: { fields: Array<{ field: string }> } } }).error.details.fields ?? []).map((f) => f.field);
}

async function deliveries(owner: TestUser, endpointId: string): Promise<Delivery[]> {
  const response = await callApi(`/v1/webhook-endpoints/${endpointId}/deliveries?per_page=100`, { key: owner.key });
  expect(response.status).toBe(200);
  return (response.json as { items: Delivery[] }).items;
}

const apiHost = () => ({ url: inject('apiUrl') });

describe('webhook endpoints', () => {
  it('shows the secret once, then lists, reads, changes and deletes the endpoint', async () => {
    const created = await createEndpoint(user, { url: `${receiver.url}/crud`, events: ['session.ready', 'session.ready'], description: 'ci' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ url: `${receiver.url}/crud`, events: ['session.ready'], description: 'ci', enabled: true, disabled_reason: null });

    const read = await callApi(`/v1/webhook-endpoints/${created.id}`, { key: user.key });
    expect(read.status).toBe(200);
    expect(read.json).not.toHaveProperty('secret');
    const list = await callApi('/v1/webhook-endpoints', { key: user.key });
    expect((list.json as { items: Endpoint[] }).items.map((endpoint) => endpoint.id)).toContain(created.id);
    expect(list.headers.get('x-ratelimit-limit')).toBe('10');

    const patched = await callApi(`/v1/webhook-endpoints/${created.id}`, {
      method: 'PATCH',
      key: user.key,
      body: { events: ['example.completed', 'example.failed'], enabled: false },
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ events: ['example.completed', 'example.failed'], enabled: false });

    const unchanged = await callApi(`/v1/webhook-endpoints/${created.id}`, { method: 'PATCH', key: user.key, body: {} });
    expect(unchanged.status).toBe(200);
    expect(unchanged.json).toMatchObject({ enabled: false });

    expect((await callApi(`/v1/webhook-endpoints/${created.id}`, { method: 'DELETE', key: user.key })).status).toBe(204);
    expect((await callApi(`/v1/webhook-endpoints/${created.id}`, { key: user.key })).status).toBe(404);
  });

  it('refuses URLs that may not receive webhooks and unknown events with 422 naming the field, saving nothing', async () => {
    // Key management allows 10 requests a minute per key: each group of requests has a key of its own.
    const owner = await createTestUser();
    const urlChecker = await createTestUser();
    for (const url of [
      'ftp://127.0.0.1/hook',
      'http://10.0.0.1/hook',
      'http://192.168.1.20/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[fd00::1]/hook',
      'http://[fe80::1]/hook',
      'not a url',
    ]) {
      const response = await callApi('/v1/webhook-endpoints', { method: 'POST', key: urlChecker.key, body: { url, events: ['session.ready'] } });
      expect(response.status, url).toBe(422);
      expect(fieldsOf(response.json), url).toEqual(['url']);
    }
    for (const events of [['session.exploded'], [], 'session.ready']) {
      const response = await callApi('/v1/webhook-endpoints', { method: 'POST', key: owner.key, body: { url: `${receiver.url}/x`, events } });
      expect(response.status, JSON.stringify(events)).toBe(422);
      expect(fieldsOf(response.json)[0]).toMatch(/^events/);
    }
    const existing = await createEndpoint(owner, { url: `${receiver.url}/ok`, events: ['session.ready'] });
    const patch = await callApi(`/v1/webhook-endpoints/${existing.id}`, { method: 'PATCH', key: owner.key, body: { url: 'http://172.16.0.1/' } });
    expect(patch.status).toBe(422);
    expect(fieldsOf(patch.json)).toEqual(['url']);
    const list = await callApi('/v1/webhook-endpoints', { key: owner.key });
    expect(list.json).toMatchObject({ total: 1, items: [{ url: `${receiver.url}/ok` }] });
  });

  it('answers 404 for another user\'s endpoint, its deliveries, test and redelivery', async () => {
    const [user, stranger] = await Promise.all([createTestUser(), createTestUser()]);
    const mine = await createEndpoint(user, { url: `${receiver.url}/private`, events: ['session.ready'] });
    const ping = await callApi(`/v1/webhook-endpoints/${mine.id}/test`, { method: 'POST', key: user.key });
    const delivery = ping.json as Delivery;
    for (const [method, path, body] of [
      ['GET', `/v1/webhook-endpoints/${mine.id}`, undefined],
      ['PATCH', `/v1/webhook-endpoints/${mine.id}`, { enabled: false }],
      ['DELETE', `/v1/webhook-endpoints/${mine.id}`, undefined],
      ['POST', `/v1/webhook-endpoints/${mine.id}/test`, undefined],
      ['GET', `/v1/webhook-endpoints/${mine.id}/deliveries`, undefined],
      ['POST', `/v1/webhook-endpoints/${mine.id}/deliveries/${delivery.id}/redeliver`, undefined],
    ] as const) {
      expect((await callApi(path, { method, key: stranger.key, body })).status, `${method} ${path}`).toBe(404);
    }
    expect((await callApi(`/v1/webhook-endpoints/${mine.id}`, { key: user.key })).json).toMatchObject({ enabled: true });
  });

  it('pings an endpoint now, signed with its secret', async () => {
    const user = await createTestUser();
    const endpoint = await createEndpoint(user, { url: `${receiver.url}/ping`, events: ['session.ready'] });
    const response = await callApi(`/v1/webhook-endpoints/${endpoint.id}/test`, { method: 'POST', key: user.key });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ event_type: 'ping', state: 'delivered', attempts: 1, last_status: 200 });
    const got = receiver.received.find((request) => request.path === '/ping');
    expect(got?.event).toMatchObject({ type: 'ping', data: { endpoint_id: endpoint.id } });
    expect(got?.headers['tracepipe-event-id']).toBe((response.json as Delivery).event_id);
    expect(signatureVerifies(endpoint.secret as string, got!.body, got!.headers['tracepipe-signature'] as string)).toBe(true);
  });

  it('counts against the key-management rate limit: the 11th request in a minute is 429', async () => {
    const owner = await createTestUser();
    await waitForFreshWindow(database);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await callApi('/v1/webhook-endpoints', { key: owner.key })).status);
    expect(statuses.slice(0, 10).every((status) => status === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe('events from state changes', () => {
  it('sends example.failed to subscribed endpoints only, with the example as GET returns it, retries a 500, and redelivers', async () => {
    const owner = await createTestUser();
    const subscribed = await createEndpoint(owner, { url: `${receiver.url}/examples`, events: ['example.failed'] });
    const other = await createEndpoint(owner, { url: `${receiver.url}/sessions-only`, events: ['session.ready'] });
    const example = await createExampleViaApi(owner);
    receiver.plan({ status: 500 });
    const failed = await callApi(`/v1/pipeline/examples/${example.id}`, {
      method: 'PATCH',
      key: pipeline.key,
      body: { status: 'FAILED', error: 'model overloaded' },
    });
    expect(failed.status).toBe(200);

    // The state change wrote the event; the timer delivers it (the receiver says 500 the first time).
    await invokeTimer(apiHost(), 'deliverWebhooks');
    const first = await eventually('the first attempt', async () => {
      const [delivery] = await deliveries(owner, subscribed.id);
      return delivery && delivery.last_status !== null ? delivery : undefined;
    });
    expect(first).toMatchObject({ event_type: 'example.failed', state: 'pending', last_status: 500 });

    // Its next attempt made due now, instead of in 30 s.
    await database.query('update webhook_deliveries set next_attempt_at = now() where id = $1', [first.id]);
    await invokeTimer(apiHost(), 'deliverWebhooks');
    const delivered = await eventually('the retry', async () => {
      const [delivery] = await deliveries(owner, subscribed.id);
      return delivery?.state === 'delivered' ? delivery : undefined;
    });
    expect(delivered).toMatchObject({ attempts: 2, last_status: 200, next_attempt_at: null });

    const got = receiver.received.filter((request) => request.path === '/examples');
    expect(got.map((request) => request.event.id)).toEqual([first.event_id, first.event_id]);
    const asRest = await callApi(`/v1/examples/${example.id}`, { key: owner.key });
    expect(got[1]!.event).toMatchObject({ type: 'example.failed', data: asRest.json as Record<string, unknown> });
    expect(await deliveries(owner, other.id)).toEqual([]);

    const again = await callApi(`/v1/webhook-endpoints/${subscribed.id}/deliveries/${first.id}/redeliver`, { method: 'POST', key: owner.key });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: first.id, state: 'delivered', attempts: 3 });
    expect(receiver.received.filter((request) => request.path === '/examples')).toHaveLength(3);
  });

  it('refuses a test or redelivery to a disabled endpoint with 409, and resumes once enabled', async () => {
    const owner = await createTestUser();
    const endpoint = await createEndpoint(owner, { url: `${receiver.url}/paused`, events: ['example.failed'] });
    await database.query(
      `update webhook_endpoints set enabled = false, disabled_reason = 'Disabled: every delivery failed' where id = $1`,
      [endpoint.id],
    );
    const refused = await callApi(`/v1/webhook-endpoints/${endpoint.id}/test`, { method: 'POST', key: owner.key });
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: { code: 'conflict', details: { disabled_reason: 'Disabled: every delivery failed' } } });
    const read = await callApi(`/v1/webhook-endpoints/${endpoint.id}`, { key: owner.key });
    expect(read.json).toMatchObject({ enabled: false, disabled_reason: 'Disabled: every delivery failed' });
    const enabled = await callApi(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'PATCH', key: owner.key, body: { enabled: true } });
    expect(enabled.json).toMatchObject({ enabled: true, disabled_reason: null });
    expect((await callApi(`/v1/webhook-endpoints/${endpoint.id}/test`, { method: 'POST', key: owner.key })).status).toBe(200);
  });

  it('sends session.ready from the indexer and dataset.ready from the builder, each with the resource as GET returns it', async () => {
    const owner = await createTestUser();
    await createEndpoint(owner, { url: `${receiver.url}/work-${owner.userId}`, events: ['session.ready', 'session.invalid', 'dataset.ready'] });
    const trace = readFileSync(resolve(PROJECT_ROOT, 'test/fixtures/samples/recorder-session.jsonl'));
    const uploaded = await postSessionMultipart(owner, [
      { name: 'suite_id', value: GMAIL_SUITE_ID },
      { name: 'input_events', filename: 'recording.jsonl', content: trace },
    ]);
    expect(uploaded.status, uploaded.text).toBe(201);
    const session = await waitUntilIndexed(owner, (uploaded.json as { id: string }).id);
    expect(session.status).toBe('ready');
    await addStoredExample(owner, gmailConversation(1));
    const dataset = await buildDatasetViaApi(owner.key, { name: 'hooked', format: 'openai' });
    expect(dataset.status).toBe('ready');

    await invokeTimer(apiHost(), 'deliverWebhooks');
    const got = await eventually('session.ready and dataset.ready', async () => {
      const mine = receiver.received.filter((request) => request.path === `/work-${owner.userId}`);
      return mine.length === 2 ? mine : undefined;
    });
    const byType = Object.fromEntries(got.map((request) => [request.event.type, request.event.data]));
    expect(byType['session.ready']).toEqual((await callApi(`/v1/sessions/${session.id}`, { key: owner.key })).json);
    expect(byType['dataset.ready']).toEqual((await callApi(`/v1/datasets/${dataset.id}`, { key: owner.key })).json);
  });
});
