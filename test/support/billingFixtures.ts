import { randomUUID } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import { setUpMeteredPrice } from '../../shared/billing/stripeAccountSetup.js';
import { createStripeClient } from '../../shared/billing/stripeClient.js';
import { recordTokenUsage } from '../../shared/billing/tokenUsage.js';
import { loadStripeSetupConfig } from '../../shared/config.js';
import { createDatabase } from '../../shared/db/database.js';
import { migrateToLatest } from '../../shared/db/migrator.js';
import type { Database, ModelProvider, SessionStatus } from '../../shared/db/schema.js';
import { SESSIONS_CONTAINER } from '../../shared/storage/layout.js';
import type { ApiProcess } from './apiProcess.js';
import { startFakeStripe, TEST_METER_EVENTS, type FakeStripe } from '../../fakes/fakeStripe.js';

/*
 * Billing test support, beside the fake Stripe: database fixtures for usage rows (the catalog, sessions and
 * examples they hang off, subscriptions as the local copy knows them), and `startBillingApi`, a host of a test's
 * own with Stripe on, pointed at the fake, its meters and prices made by stripe:setup's own code, and the fake's
 * webhooks pointed back at it. No vitest import: bench/stripeSync.ts uses it too.
 */

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

/**
 * A session row. With `blobs`, its trace is also put in storage (a small stand-in file), so the storage sampler
 * finds it stored; without, the sampler's listing finds it gone. `createdAt` is also the time it was measured.
 */
export async function addSession(
  db: Kysely<Database>,
  values: {
    userId: string;
    suiteId: string;
    status?: SessionStatus;
    sizeBytes?: number | null;
    createdAt?: Date;
    blobs?: BlobServiceClient;
  },
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
      // What storage metering follows (the ledger's trigger): here the upload is the whole of what is stored.
      stored_bytes: measured ? (values.sizeBytes ?? 0) : 0,
      ...(measured
        ? { format: 'recorder-jsonl', clock: 'absolute' as const, canonical_size_bytes: values.sizeBytes ?? 0, canonical_sha256: 'a'.repeat(64) }
        : {}),
      ...(values.createdAt ? { created_at: values.createdAt, updated_at: values.createdAt } : {}),
    })
    .execute();
  if (values.blobs) {
    const container = values.blobs.getContainerClient(SESSIONS_CONTAINER);
    await container.createIfNotExists();
    // In the session's folder, where the sampler looks (uploads, which indexers watch, stay empty).
    await container.getBlockBlobClient(`${id}/original/trace.jsonl`).upload('{}\n', 3);
  }
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

/**
 * The local copy of a subscription, as if Stripe had sent it: for tests of the sync and the estimate that need a
 * user to be subscribed without going through Stripe. Active since `startedAt` (60 days ago by default).
 */
export async function addSubscription(
  db: Kysely<Database>,
  values: { userId: string; startedAt?: Date; endedAt?: Date | null; status?: string; prices?: { tokens: string; storage: string } },
): Promise<string> {
  const id = `sub_local_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const startedAt = values.startedAt ?? new Date(Date.now() - 60 * 86_400_000);
  await db
    .insertInto('billing_subscriptions')
    .values({
      stripe_subscription_id: id,
      user_id: values.userId,
      status: values.status ?? (values.endedAt ? 'canceled' : 'active'),
      started_at: startedAt,
      ended_at: values.endedAt ?? null,
      billing_cycle_anchor: startedAt,
      tokens_unit_amount: values.prices?.tokens ?? null,
      storage_unit_amount: values.prices?.storage ?? null,
      synced_at: new Date(),
    })
    .execute();
  return id;
}

/** An API key of the user's (all the default scopes), written as the API writes keys. */
export async function addApiKey(db: Kysely<Database>, userId: string, hmacSecret: string): Promise<string> {
  const key = generateApiKeySecret();
  await db.insertInto('api_keys').values({ user_id: userId, prefix: maskApiKeySecret(key), key_hash: hashApiKeySecret(key, hmacSecret) }).execute();
  return key;
}

/**
 * Adds a card the way the storefront does: POST /v1/billing/setup-intent, then Stripe.js confirms it (the fake
 * attaches the card and sends setup_intent.succeeded to the host). Answers the payment method, once the webhooks
 * it set off were delivered.
 */
export async function addCardThroughApi(
  api: Pick<BillingApi, 'fake' | 'hosts'>,
  key: string,
  options: { declines?: boolean; baseUrl?: string } = {},
): Promise<string> {
  const response = await fetch(`${options.baseUrl ?? api.hosts[0]?.url}/v1/billing/setup-intent`, {
    method: 'POST',
    headers: { 'X-API-Key': key },
  });
  const body = (await response.json()) as { client_secret?: string };
  if (response.status !== 201 || !body.client_secret) throw new Error(`setup-intent: ${response.status} ${JSON.stringify(body)}`);
  const setupIntentId = body.client_secret.split('_secret_')[0] as string;
  const paymentMethod = await api.fake.confirmSetupIntent(setupIntentId, options.declines ? { declines: true } : {});
  await api.fake.flushWebhooks();
  return paymentMethod;
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
  /** The secret of the event destination for thin events. */
  eventsWebhookSecret: string;
  prices: { tokens: string; storage: string };
  databaseUrl: string;
  db: Kysely<Database>;
  /** Starts one more host on the same database and fake (the first is started by startBillingApi). */
  startHost(env?: Record<string, string>): Promise<ApiProcess>;
  hosts: ApiProcess[];
  close(): Promise<void>;
}

/** The meters and prices `npm run stripe:setup` makes, made in the fake by the same code. */
export async function setUpFakeStripeAccount(fake: FakeStripe, env: Record<string, string> = {}): Promise<{ tokens: string; storage: string }> {
  const { billing, secretKey } = loadStripeSetupConfig({
    STRIPE_SECRET_KEY: fake.secretKey,
    STRIPE_API_URL: fake.url,
    STRIPE_TOKENS_METER_EVENT: TEST_METER_EVENTS.tokens,
    STRIPE_STORAGE_METER_EVENT: TEST_METER_EVENTS.storage,
    ...env,
  });
  const stripe = createStripeClient({ secretKey, apiUrl: fake.url, timeoutMs: 20_000 }, { retries: 0 });
  const tokens = await setUpMeteredPrice(stripe, billing, 'tokens');
  const storage = await setUpMeteredPrice(stripe, billing, 'storage');
  return { tokens: tokens.priceId, storage: storage.priceId };
}

/**
 * A database of the caller's own (migrated) and a host serving the app with Stripe on, pointed at the fake by
 * STRIPE_API_URL, with the fake's webhooks pointed at it. Its timers are scheduled for New Year only, so nothing
 * runs unless a test asks (POST /admin/functions/<name>); a host id of its own keeps its timer state apart.
 */
export async function startBillingApi(options: BillingApiOptions): Promise<BillingApi> {
  const { createTestDatabase } = await import('./database.js');
  const { spawnLocalHost } = await import('./apiProcess.js');
  const fake = options.fake ?? (await startFakeStripe());
  const prices = await setUpFakeStripeAccount(fake, options.env);
  const database = await createTestDatabase();
  const db = createDatabase({ connectionString: database.url, poolMax: database.kind === 'pglite' ? 1 : 4 });
  await migrateToLatest(db);
  const webhookSecret = `whsec_test_${randomUUID().replace(/-/g, '')}`;
  const eventsWebhookSecret = `whsec_thin_${randomUUID().replace(/-/g, '')}`;
  const hosts: ApiProcess[] = [];
  const startHost = async (env: Record<string, string> = {}) => {
    const host = await spawnLocalHost({
      TRACEPIPE_ENV: 'test',
      DATABASE_URL: database.url,
      DATABASE_POOL_MAX: database.kind === 'pglite' ? '1' : '5',
      AZURE_STORAGE_CONNECTION_STRING: options.storageConnectionString,
      AzureWebJobsStorage: options.storageConnectionString,
      AzureFunctionsWebHost__hostid: `billing-${randomUUID().slice(0, 8)}`,
      API_KEY_HMAC_SECRET: options.apiKeyHmacSecret,
      STRIPE_SECRET_KEY: fake.secretKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_EVENTS_WEBHOOK_SECRET: eventsWebhookSecret,
      STRIPE_API_URL: fake.url,
      STRIPE_TOKENS_METER_EVENT: TEST_METER_EVENTS.tokens,
      STRIPE_STORAGE_METER_EVENT: TEST_METER_EVENTS.storage,
      STRIPE_TOKENS_PRICE_ID: prices.tokens,
      STRIPE_STORAGE_PRICE_ID: prices.storage,
      STRIPE_SYNC_SCHEDULE: '0 0 0 1 1 *',
      STORAGE_SAMPLE_SCHEDULE: '0 0 0 1 1 *',
      BILLING_PERIOD_CLOSE_SCHEDULE: '0 0 0 1 1 *',
      BILLING_RECONCILE_SCHEDULE: '0 0 0 1 1 *',
      // The tests share one Azurite: an indexer here would delete the traces of other files' sessions (it
      // finds no session of its database for them).
      'AzureWebJobs.indexSessionUpload.Disabled': 'true',
      ...(options.entra
        ? { ENTRA_ISSUER: options.entra.issuer, ENTRA_AUDIENCE: options.entra.audience, ENTRA_JWKS_URL: options.entra.jwksUrl }
        : {}),
      ...options.env,
      ...env,
    });
    hosts.push(host);
    return host;
  };
  const first = await startHost();
  fake.setWebhookEndpoint({ url: `${first.url}/v1/webhooks/stripe`, secret: webhookSecret, thinSecret: eventsWebhookSecret });
  return {
    fake,
    webhookSecret,
    eventsWebhookSecret,
    prices,
    databaseUrl: database.url,
    db,
    startHost,
    hosts,
    close: async () => {
      await fake.flushWebhooks();
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
