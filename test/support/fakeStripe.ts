import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Kysely } from 'kysely';
import Stripe from 'stripe';
import { recordTokenUsage } from '../../shared/billing/tokenUsage.js';
import { createDatabase } from '../../shared/db/database.js';
import { migrateToLatest } from '../../shared/db/migrator.js';
import type { Database, ModelProvider, SessionStatus } from '../../shared/db/schema.js';
import type { ApiProcess } from './apiProcess.js';

/**
 * A stand-in for the parts of Stripe's API this project uses, for the tests and the bench: the `stripe` SDK points
 * at it through STRIPE_API_URL (its `host`, `port`, `protocol`). It checks requests as Stripe does (secret key,
 * form encoding, Stripe-Version, required and well-formed parameters), answers in Stripe's shapes and error
 * envelope, keeps Stripe's rules that matter here (idempotency keys replay the first answer; a meter event
 * identifier is unique within 24 hours; meter event timestamps within the past 35 days and at most 5 minutes
 * ahead; whole-number values; summaries on minute boundaries), records every request, and can fail on demand.
 * No vitest import: bench/stripeSync.ts runs it too.
 *
 * Below the fake: database fixtures for usage rows, and `startBillingApi`, a host of a test's own with Stripe on
 * and pointed at the fake (with `runSync`, which runs the sync timer through the admin API and waits for it).
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  form: Record<string, unknown>;
  idempotencyKey: string | undefined;
  at: number;
}

export interface AcceptedMeterEvent {
  identifier: string;
  eventName: string;
  customer: string;
  value: number;
  timestamp: number;
  /** ms since epoch, by the fake's clock. */
  acceptedAt: number;
}

/** How POST /v1/billing/meter_events behaves until changed. */
export type MeterEventMode =
  | { kind: 'normal' }
  /** Answer every call with this error without processing it (429, 500, ...). */
  | { kind: 'error'; status: number; type?: string; code?: string }
  /** Take the event (it counts), then answer only after `ms` (or never: the client times out or dies). */
  | { kind: 'accept_then_stall'; ms?: number }
  /** Close the connection without an answer: Stripe unreachable. Nothing is processed. */
  | { kind: 'drop_connection' };

export interface FakeStripe {
  url: string;
  secretKey: string;
  requests: RecordedRequest[];
  meterEvents: AcceptedMeterEvent[];
  customers: Map<string, Record<string, unknown>>;
  meters: Map<string, { id: string; event_name: string; display_name: string; status: string }>;
  setMeterEventMode(mode: MeterEventMode): void;
  /** Answers every meter event call after `ms` (events still count only when answered normally). */
  setLatency(ms: number): void;
  /** The fake's clock (ms), for events seeded "in the past". */
  now(): number;
  /** Adds a customer as if created earlier. */
  addCustomer(id?: string): string;
  /** Adds an event as Stripe would have it, e.g. accepted 25 hours ago. */
  seedMeterEvent(event: AcceptedMeterEvent): void;
  /** Calls to one path (and method). */
  calls(method: string, path: string | RegExp): RecordedRequest[];
  close(): Promise<void>;
}

const DAY_MS = 24 * 3_600_000;

/** Stripe's form encoding: `a[b][0][c]=v` into nested objects and arrays. */
export function parseStripeForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const parts = rawKey.replace(/\]/g, '').split('[');
    let node: Record<string, unknown> | unknown[] = root;
    parts.forEach((part, index) => {
      const last = index === parts.length - 1;
      const key = Array.isArray(node) ? Number(part || node.length) : part;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[key] = value;
      } else {
        const nextIsIndex = /^\d*$/.test(parts[index + 1] ?? '');
        container[key] ??= nextIsIndex ? [] : {};
        node = container[key] as Record<string, unknown> | unknown[];
      }
    });
  }
  return root;
}

function stripeError(
  response: ServerResponse,
  status: number,
  error: { type: string; message: string; code?: string; param?: string },
): void {
  send(response, status, { error });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'request-id': `req_${Math.random().toString(36).slice(2, 14)}`,
  });
  response.end(text);
}

function list(url: string, data: unknown[]): unknown {
  return { object: 'list', data, has_more: false, url };
}

export async function startFakeStripe(options: { secretKey?: string; meters?: Array<{ eventName: string }> } = {}): Promise<FakeStripe> {
  const secretKey = options.secretKey ?? 'sk_test_fake_0123456789';
  const requests: RecordedRequest[] = [];
  const meterEvents: AcceptedMeterEvent[] = [];
  const byIdentifier = new Map<string, AcceptedMeterEvent>();
  const customers = new Map<string, Record<string, unknown>>();
  const meters = new Map<string, { id: string; event_name: string; display_name: string; status: string }>();
  const products = new Map<string, Record<string, unknown>>();
  const prices = new Map<string, Record<string, unknown>>();
  const idempotent = new Map<string, { status: number; body: unknown; form: string }>();
  const sockets = new Set<Socket>();
  let mode: MeterEventMode = { kind: 'normal' };
  let latencyMs = 0;
  let counter = 0;
  const nextId = (prefix: string) => `${prefix}_fake${(++counter).toString().padStart(8, '0')}`;
  const now = () => Date.now();

  for (const meter of options.meters ?? []) {
    const id = nextId('mtr');
    meters.set(id, { id, event_name: meter.eventName, display_name: meter.eventName, status: 'active' });
  }

  const addCustomer = (id = nextId('cus')) => {
    customers.set(id, { id, object: 'customer', metadata: {}, invoice_settings: { default_payment_method: null } });
    return id;
  };

  function meterEvent(form: Record<string, unknown>, response: ServerResponse): AcceptedMeterEvent | null {
    const fail = (message: string, param: string, code = 'parameter_invalid') => {
      stripeError(response, 400, { type: 'invalid_request_error', message, param, code });
      return null;
    };
    const eventName = form.event_name;
    const payload = form.payload as Record<string, unknown> | undefined;
    if (typeof eventName !== 'string' || !eventName) return fail('Missing required param: event_name.', 'event_name', 'parameter_missing');
    if (!payload || typeof payload !== 'object') return fail('Missing required param: payload.', 'payload', 'parameter_missing');
    if (![...meters.values()].some((meter) => meter.event_name === eventName && meter.status === 'active')) {
      return fail(`No active meter found for event_name ${eventName}.`, 'event_name', 'resource_missing');
    }
    const customer = payload.stripe_customer_id;
    if (typeof customer !== 'string' || !customers.has(customer)) {
      return fail(`No such customer: '${String(customer)}'`, 'payload[stripe_customer_id]', 'meter_event_customer_not_found');
    }
    const value = payload.value;
    if (typeof value !== 'string' || !/^\d+$/.test(value)) {
      return fail('The value must be a whole number.', 'payload[value]', 'meter_event_invalid_value');
    }
    const identifier = typeof form.identifier === 'string' ? form.identifier : nextId('mevt');
    if (identifier.length > 100) return fail('identifier is too long (max 100).', 'identifier');
    const timestamp = form.timestamp === undefined ? Math.floor(now() / 1000) : Number(form.timestamp);
    if (!Number.isInteger(timestamp)) return fail('Invalid integer: timestamp.', 'timestamp');
    if (timestamp * 1000 < now() - 35 * DAY_MS) {
      return fail('Timestamp must be within the past 35 days.', 'timestamp', 'timestamp_too_far_in_past');
    }
    if (timestamp * 1000 > now() + 5 * 60_000) {
      return fail('Timestamp must not be more than 5 minutes in the future.', 'timestamp', 'timestamp_in_future');
    }
    const previous = byIdentifier.get(identifier);
    if (previous && now() - previous.acceptedAt < DAY_MS) {
      return fail(`An event already exists with identifier ${identifier}.`, 'identifier', 'duplicate_meter_event');
    }
    const event: AcceptedMeterEvent = { identifier, eventName, customer, value: Number(value), timestamp, acceptedAt: now() };
    meterEvents.push(event);
    byIdentifier.set(identifier, event);
    return event;
  }

  async function route(request: IncomingMessage, response: ServerResponse, socket: Socket): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const idempotencyKey = request.headers['idempotency-key'] as string | undefined;
    const form = method === 'GET' ? {} : parseStripeForm(text);
    const query = parseStripeForm(url.search.slice(1));
    requests.push({ method, path: url.pathname, query, form, idempotencyKey, at: now() });

    if (request.headers.authorization !== `Bearer ${secretKey}`) {
      return stripeError(response, 401, { type: 'invalid_request_error', message: 'Invalid API Key provided.' });
    }
    if (!request.headers['stripe-version']) {
      return stripeError(response, 400, { type: 'invalid_request_error', message: 'Missing Stripe-Version header.' });
    }
    if (method === 'POST' && text && !String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return stripeError(response, 400, {
        type: 'invalid_request_error',
        message: 'Invalid request: the body must be application/x-www-form-urlencoded.',
      });
    }
    // https://docs.stripe.com/api/idempotent_requests: the same key replays the first answer; other params are 400.
    const replayKey = idempotencyKey ? `${method} ${url.pathname} ${idempotencyKey}` : undefined;
    if (replayKey) {
      const stored = idempotent.get(replayKey);
      if (stored) {
        if (stored.form !== text) {
          return stripeError(response, 400, {
            type: 'idempotency_error',
            message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
          });
        }
        return send(response, stored.status, stored.body);
      }
    }
    const answer = (status: number, body: unknown) => {
      if (replayKey && status < 500) idempotent.set(replayKey, { status, body, form: text });
      send(response, status, body);
    };

    const path = url.pathname;
    let match: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/billing/meter_events') {
      const current = mode;
      if (current.kind === 'drop_connection') {
        socket.destroy();
        return;
      }
      if (current.kind === 'error') {
        return stripeError(response, current.status, {
          type: current.type ?? (current.status === 429 ? 'rate_limit_error' : 'api_error'),
          message: current.status === 429 ? 'Too many requests.' : 'An unknown error occurred.',
          ...(current.code ? { code: current.code } : {}),
        });
      }
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      if (current.kind === 'accept_then_stall') {
        const accepted = meterEvent(form, response);
        if (!accepted) return;
        if (current.ms === undefined) return; // never answers; the socket stays open until the client gives up
        await new Promise((resolve) => setTimeout(resolve, current.ms));
        if (!response.writableEnded && !socket.destroyed) send(response, 200, meterEventObject(accepted));
        return;
      }
      const accepted = meterEvent(form, response);
      if (accepted) send(response, 200, meterEventObject(accepted));
      return;
    }
    if (method === 'GET' && path === '/v1/billing/meters') {
      return send(response, 200, list(path, [...meters.values()].map(meterObject).filter((m) => !query.status || m.status === query.status)));
    }
    if (method === 'POST' && path === '/v1/billing/meters') {
      const eventName = String(form.event_name ?? '');
      if ([...meters.values()].some((meter) => meter.event_name === eventName && meter.status === 'active')) {
        return stripeError(response, 400, {
          type: 'invalid_request_error',
          message: `An active meter with event_name ${eventName} already exists.`,
          param: 'event_name',
        });
      }
      const id = nextId('mtr');
      meters.set(id, { id, event_name: eventName, display_name: String(form.display_name ?? eventName), status: 'active' });
      return answer(200, meterObject(meters.get(id) as never));
    }
    if (method === 'GET' && (match = /^\/v1\/billing\/meters\/([^/]+)\/event_summaries$/.exec(path))) {
      const meter = meters.get(match[1] as string);
      if (!meter) return stripeError(response, 404, { type: 'invalid_request_error', message: 'No such meter.', code: 'resource_missing' });
      const start = Number(query.start_time);
      const end = Number(query.end_time);
      if (!query.customer || !Number.isInteger(start) || !Number.isInteger(end)) {
        return stripeError(response, 400, { type: 'invalid_request_error', message: 'customer, start_time and end_time are required.' });
      }
      if (start % 60 !== 0 || end % 60 !== 0) {
        return stripeError(response, 400, {
          type: 'invalid_request_error',
          message: 'start_time and end_time must be aligned with minute boundaries.',
        });
      }
      const value = meterEvents
        .filter((e) => e.eventName === meter.event_name && e.customer === query.customer && e.timestamp >= start && e.timestamp < end)
        .reduce((sum, e) => sum + e.value, 0);
      return send(
        response,
        200,
        list(path, [
          { id: nextId('mtrusg'), object: 'billing.meter_event_summary', aggregated_value: value, start_time: start, end_time: end, meter: meter.id, livemode: false },
        ]),
      );
    }
    if (method === 'POST' && path === '/v1/customers') {
      const id = addCustomer();
      const customer = customers.get(id) as Record<string, unknown>;
      Object.assign(customer, { email: form.email ?? null, name: form.name ?? null, metadata: form.metadata ?? {} });
      return answer(200, customer);
    }
    if (method === 'POST' && (match = /^\/v1\/customers\/([^/]+)$/.exec(path))) {
      const customer = customers.get(match[1] as string);
      if (!customer) return stripeError(response, 404, { type: 'invalid_request_error', message: 'No such customer.', code: 'resource_missing' });
      Object.assign(customer, form);
      return answer(200, customer);
    }
    if (method === 'POST' && path === '/v1/setup_intents') {
      if (typeof form.customer !== 'string' || !customers.has(form.customer)) {
        return stripeError(response, 400, { type: 'invalid_request_error', message: 'No such customer.', param: 'customer', code: 'resource_missing' });
      }
      const id = nextId('seti');
      return answer(200, {
        id,
        object: 'setup_intent',
        client_secret: `${id}_secret_${Math.random().toString(36).slice(2, 12)}`,
        customer: form.customer,
        usage: form.usage ?? 'off_session',
        status: 'requires_payment_method',
        metadata: form.metadata ?? {},
      });
    }
    if (method === 'POST' && path === '/v1/subscriptions') {
      if (typeof form.customer !== 'string' || !customers.has(form.customer)) {
        return stripeError(response, 400, { type: 'invalid_request_error', message: 'No such customer.', param: 'customer' });
      }
      return answer(200, { id: nextId('sub'), object: 'subscription', customer: form.customer, items: list('/v1/subscription_items', []), status: 'active' });
    }
    if (method === 'POST' && path === '/v1/products') {
      const id = nextId('prod');
      products.set(id, { id, object: 'product', name: form.name, metadata: form.metadata ?? {} });
      return answer(200, products.get(id));
    }
    if (method === 'GET' && path === '/v1/prices') {
      const keys = (query.lookup_keys as string[] | undefined) ?? [];
      const wanted = [...prices.values()].filter((p) => keys.length === 0 || keys.includes(p.lookup_key as string));
      return send(response, 200, list(path, wanted.filter((p) => query.active === undefined || String(p.active) === query.active)));
    }
    if (method === 'POST' && path === '/v1/prices') {
      const holder = [...prices.values()].find((p) => form.lookup_key && p.lookup_key === form.lookup_key);
      if (holder) {
        if (form.transfer_lookup_key !== 'true') {
          return stripeError(response, 400, {
            type: 'invalid_request_error',
            message: `A price (${String(holder.id)}) already uses that lookup key.`,
            param: 'lookup_key',
          });
        }
        holder.lookup_key = null;
      }
      const id = nextId('price');
      const { transfer_lookup_key: _transfer, product_data: productData, ...fields } = form;
      const product = nextId('prod');
      products.set(product, { id: product, object: 'product', ...(productData as Record<string, unknown>) });
      prices.set(id, { id, object: 'price', active: true, product, ...fields });
      return answer(200, prices.get(id));
    }
    return stripeError(response, 404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` });
  }

  const server: Server = createServer((request, response) => {
    route(request, response, request.socket).catch((error: unknown) => {
      if (!response.headersSent) stripeError(response, 500, { type: 'api_error', message: String(error) });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    requests,
    meterEvents,
    customers,
    meters,
    setMeterEventMode: (next) => {
      mode = next;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    now,
    addCustomer,
    seedMeterEvent: (event) => {
      meterEvents.push(event);
      byIdentifier.set(event.identifier, event);
    },
    calls: (method, path) =>
      requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function meterEventObject(event: AcceptedMeterEvent) {
  return {
    object: 'billing.meter_event',
    created: Math.floor(event.acceptedAt / 1000),
    event_name: event.eventName,
    identifier: event.identifier,
    livemode: false,
    payload: { stripe_customer_id: event.customer, value: String(event.value) },
    timestamp: event.timestamp,
  };
}

function meterObject(meter: { id: string; event_name: string; display_name: string; status: string }) {
  return {
    id: meter.id,
    object: 'billing.meter',
    event_name: meter.event_name,
    display_name: meter.display_name,
    status: meter.status,
    customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' },
    default_aggregation: { formula: 'sum' },
    value_settings: { event_payload_key: 'value' },
    livemode: false,
  };
}

/** A webhook delivery as Stripe signs it (https://github.com/stripe/stripe-node#testing-webhook-signing). */
export function signStripeEvent(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
}

/* ---- Database fixtures for billing tests: the catalog, sessions and examples that usage rows hang off -------- */

export interface UsageFixture {
  suiteId: string;
  modelId: string;
  mapId: string;
}

let fixtureCounter = 0;
const unique = (prefix: string) => `${prefix} ${process.pid}-${Date.now().toString(36)}-${++fixtureCounter}`;

/** A suite, an MCP server, a map between them and a model, all of the caller's own. */
export async function createUsageFixture(
  db: Kysely<Database>,
  model: { provider?: ModelProvider; name?: string } = {},
): Promise<UsageFixture> {
  const suite = await db.insertInto('suites').values({ name: unique('Suite') }).returning('id').executeTakeFirstOrThrow();
  const server = await db.insertInto('mcp_servers').values({ name: unique('Server') }).returning('id').executeTakeFirstOrThrow();
  const map = await db
    .insertInto('action_tool_maps')
    .values({ suite_id: suite.id, mcp_server_id: server.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  const modelRow = await db
    .insertInto('models')
    .values({ provider: model.provider ?? 'OPENAI', name: model.name ?? unique('model').replace(/ /g, '-') })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { suiteId: suite.id, modelId: modelRow.id, mapId: map.id };
}

export async function addUser(db: Kysely<Database>, customerId: string | null = null): Promise<string> {
  const user = await db
    .insertInto('users')
    .values({ display_name: 'Billing Test', email: `${unique('billing').replace(/ /g, '-')}@example.com`, stripe_customer_id: customerId })
    .returning('id')
    .executeTakeFirstOrThrow();
  return user.id;
}

export async function addSession(
  db: Kysely<Database>,
  values: { userId: string; suiteId: string; status?: SessionStatus; sizeBytes?: number | null; createdAt?: Date },
): Promise<string> {
  const id = randomUUID();
  const measured = values.status === undefined || values.status === 'ready' || values.sizeBytes != null;
  await db
    .insertInto('sessions')
    .values({
      id,
      user_id: values.userId,
      suite_id: values.suiteId,
      storage_path: `sessions/${id}/`,
      status: values.status ?? 'ready',
      size_bytes: measured ? (values.sizeBytes ?? 0) : null,
      event_count: measured ? 1 : null,
      sha256: measured ? 'a'.repeat(64) : null,
      // What storage metering sums: here the upload is the whole of what is stored.
      stored_bytes: measured ? (values.sizeBytes ?? 0) : 0,
      ...(measured
        ? { format: 'recorder-jsonl', clock: 'absolute' as const, canonical_size_bytes: values.sizeBytes ?? 0, canonical_sha256: 'a'.repeat(64) }
        : {}),
      ...(values.createdAt ? { created_at: values.createdAt } : {}),
    })
    .execute();
  return id;
}

/** A COMPLETED example with its token usage row (recorded through recordTokenUsage, as the examples code does). */
export async function addCompletedExample(
  db: Kysely<Database>,
  values: {
    userId: string;
    fixture: UsageFixture;
    sessionId?: string;
    inputTokens: number;
    outputTokens: number;
    recordedAt?: Date;
    completedAt?: Date;
  },
): Promise<{ exampleId: string; usageId: string }> {
  const sessionId = values.sessionId ?? (await addSession(db, { userId: values.userId, suiteId: values.fixture.suiteId }));
  const exampleId = randomUUID();
  await db
    .insertInto('examples')
    .values({
      id: exampleId,
      user_id: values.userId,
      session_id: sessionId,
      suite_id: values.fixture.suiteId,
      model_id: values.fixture.modelId,
      action_tool_map_id: values.fixture.mapId,
      storage_path: `examples/${exampleId}/`,
      status: 'COMPLETED',
      input_tokens: values.inputTokens,
      output_tokens: values.outputTokens,
      completed_at: values.completedAt ?? values.recordedAt ?? new Date(),
    })
    .execute();
  await recordTokenUsage(db, {
    userId: values.userId,
    exampleId,
    suiteId: values.fixture.suiteId,
    modelId: values.fixture.modelId,
    inputTokens: values.inputTokens,
    outputTokens: values.outputTokens,
    ...(values.recordedAt ? { recordedAt: values.recordedAt } : {}),
  });
  const usage = await db.selectFrom('token_usage').select('id').where('example_id', '=', exampleId).executeTakeFirstOrThrow();
  return { exampleId, usageId: usage.id };
}

/* ---- An API process of a test's own, with Stripe on and pointed at a fake ------------------------------------ */

export interface BillingApiOptions {
  apiKeyHmacSecret: string;
  storageConnectionString: string;
  entra?: { issuer: string; audience: string; jwksUrl: string };
  env?: Record<string, string>;
  fake?: FakeStripe;
}

export interface BillingApi {
  fake: FakeStripe;
  webhookSecret: string;
  databaseUrl: string;
  db: Kysely<Database>;
  /** Starts one more host on the same database and fake (the first is started by startBillingApi). */
  startHost(env?: Record<string, string>): Promise<ApiProcess>;
  hosts: ApiProcess[];
  close(): Promise<void>;
}

export const TEST_METER_EVENTS = { tokens: 'tracepipe_tokens', storage: 'tracepipe_storage_mb_hours' };

/**
 * A database of the caller's own (migrated) and a host serving the app with Stripe on, pointed at the fake by
 * STRIPE_API_URL. Its timers are scheduled for New Year only, so nothing runs unless a test asks
 * (POST /admin/functions/<name>); a host id of its own keeps its timer state apart from every other host's.
 */
export async function startBillingApi(options: BillingApiOptions): Promise<BillingApi> {
  const { createTestDatabase } = await import('./database.js');
  const { spawnApi } = await import('./apiProcess.js');
  const fake =
    options.fake ??
    (await startFakeStripe({ meters: [{ eventName: TEST_METER_EVENTS.tokens }, { eventName: TEST_METER_EVENTS.storage }] }));
  const database = await createTestDatabase();
  const db = createDatabase({ connectionString: database.url, poolMax: database.kind === 'pglite' ? 1 : 4 });
  await migrateToLatest(db);
  const webhookSecret = `whsec_test_${randomUUID().replace(/-/g, '')}`;
  const hosts: ApiProcess[] = [];
  const startHost = async (env: Record<string, string> = {}) => {
    const host = await spawnApi({
      script: 'dist/dev/host/cli.js',
      args: ['--app', '.', '--port', '0'],
      readyPattern: /Host listening on (\S+)/,
      env: {
        TRACEPIPE_ENV: 'test',
        DATABASE_URL: database.url,
        DATABASE_POOL_MAX: database.kind === 'pglite' ? '1' : '5',
        AZURE_STORAGE_CONNECTION_STRING: options.storageConnectionString,
        AzureWebJobsStorage: options.storageConnectionString,
        AzureFunctionsWebHost__hostid: `billing-${randomUUID().slice(0, 8)}`,
        API_KEY_HMAC_SECRET: options.apiKeyHmacSecret,
        STRIPE_SECRET_KEY: fake.secretKey,
        STRIPE_WEBHOOK_SECRET: webhookSecret,
        STRIPE_API_URL: fake.url,
        STRIPE_TOKENS_METER_EVENT: TEST_METER_EVENTS.tokens,
        STRIPE_STORAGE_METER_EVENT: TEST_METER_EVENTS.storage,
        STRIPE_SYNC_SCHEDULE: '0 0 0 1 1 *',
        STORAGE_SAMPLE_SCHEDULE: '0 0 0 1 1 *',
        ...(options.entra
          ? { ENTRA_ISSUER: options.entra.issuer, ENTRA_AUDIENCE: options.entra.audience, ENTRA_JWKS_URL: options.entra.jwksUrl }
          : {}),
        ...options.env,
        ...env,
      },
    });
    hosts.push(host);
    return host;
  };
  await startHost();
  return {
    fake,
    webhookSecret,
    databaseUrl: database.url,
    db,
    startHost,
    hosts,
    close: async () => {
      await Promise.all(hosts.map((host) => host.stop()));
      await db.destroy();
      await fake.close();
      await database.drop();
    },
  };
}

/** Runs a timer function now through the host's admin API (202 at once; the run goes on in the background). */
export async function invokeTimer(host: { url: string }, name: string): Promise<void> {
  const response = await fetch(`${host.url}/admin/functions/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  if (response.status !== 202) throw new Error(`admin invoke of ${name}: ${response.status} ${await response.text()}`);
}

/** Finished sync runs, oldest first. */
export async function finishedSyncRuns(db: Kysely<Database>) {
  return db
    .selectFrom('stripe_sync_runs')
    .selectAll()
    .where('finished_at', 'is not', null)
    .orderBy('finished_at')
    .execute();
}

/** Triggers `syncUsageToStripe` on each host at once and waits until that many more runs have finished. */
export async function runSync(db: Kysely<Database>, ...hosts: ApiProcess[]) {
  const before = (await finishedSyncRuns(db)).length;
  await Promise.all(hosts.map((host) => invokeTimer(host, 'syncUsageToStripe')));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const runs = await finishedSyncRuns(db);
    if (runs.length >= before + hosts.length) return runs.slice(before);
    if (Date.now() > deadline) throw new Error(`sync runs did not finish in time: ${JSON.stringify(runs.slice(before))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
