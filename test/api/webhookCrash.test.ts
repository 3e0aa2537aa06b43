import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import { createDatabase } from '../../shared/db/database.js';
import { migrateToLatest } from '../../shared/db/migrator.js';
import type { Database } from '../../shared/db/schema.js';
import { type ApiProcess, spawnLocalHost } from '../support/apiProcess.js';
import { addSession, addUser, createUsageFixture, invokeTimer } from '../support/billingFixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/sessions.js';
import { signatureVerifies, startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

/*
 * The outbox holds across a crash: the process that made the state change is killed (SIGKILL, no shutdown) before
 * its deliverer ran, and a fresh process delivers the event it left in the database.
 */

const NEVER = '0 0 0 1 1 *';
const hmacSecret = generateApiKeySecret();
let database: TestDatabase;
let db: Kysely<Database>;
let receiver: WebhookReceiver;

function startHost(env: Record<string, string>): Promise<ApiProcess> {
  return spawnLocalHost({
    TRACEPIPE_ENV: 'test',
    DATABASE_URL: database.url,
    DATABASE_POOL_MAX: '3',
    AZURE_STORAGE_CONNECTION_STRING: inject('storageConnectionString'),
    AzureWebJobsStorage: inject('storageConnectionString'),
    AzureFunctionsWebHost__hostid: `crash-${randomUUID().slice(0, 8)}`,
    API_KEY_HMAC_SECRET: hmacSecret,
    // The tests share one Azurite: an indexer here would delete the traces of other files' sessions.
    'AzureWebJobs.indexSessionUpload.Disabled': 'true',
    BUDGET_CHECK_SCHEDULE: NEVER,
    ...env,
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ connectionString: database.url, poolMax: 2 });
  await migrateToLatest(db);
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
  await db.destroy();
  await database.drop();
});

describe('a crash between the state change and its delivery', () => {
  it('loses no event: the next process delivers it', async () => {
    const fixture = await createUsageFixture(db);
    const userId = await addUser(db);
    const key = generateApiKeySecret();
    await db
      .insertInto('api_keys')
      .values({ user_id: userId, prefix: maskApiKeySecret(key), key_hash: hashApiKeySecret(key, hmacSecret), scopes: ['api', 'pipeline'] })
      .execute();
    const sessionId = await addSession(db, { userId, suiteId: fixture.suiteId });
    const example = await db
      .insertInto('examples')
      .values({
        user_id: userId,
        session_id: sessionId,
        suite_id: fixture.suiteId,
        model_id: fixture.modelId,
        action_tool_map_id: fixture.mapId,
        storage_path: 'examples/pending/',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const secret = 'whsec_crash_test_secret';
    await db
      .insertInto('webhook_endpoints')
      .values({ user_id: userId, url: `${receiver.url}/crash`, events: ['example.failed'], secret })
      .execute();

    // This process changes the state and never delivers (its deliverer is scheduled for New Year's Day).
    const first = await startHost({ WEBHOOK_DELIVERY_SCHEDULE: NEVER });
    const failed = await fetch(`${first.url}/v1/pipeline/examples/${example.id}`, {
      method: 'PATCH',
      headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ status: 'FAILED', error: 'worker lost' }),
    });
    expect(failed.status).toBe(200);
    first.child.kill('SIGKILL');
    expect((await first.terminate()).signal).toBe('SIGKILL');
    expect(receiver.received.filter((request) => request.path === '/crash')).toHaveLength(0);

    const second = await startHost({ WEBHOOK_DELIVERY_SCHEDULE: NEVER });
    try {
      await invokeTimer(second, 'deliverWebhooks');
      const got = await eventually('the event after the crash', async () => receiver.received.find((request) => request.path === '/crash'));
      expect(got.event).toMatchObject({ type: 'example.failed', data: { id: example.id, status: 'FAILED', error: 'worker lost' } });
      expect(signatureVerifies(secret, got.body, got.headers['tracepipe-signature'] as string)).toBe(true);
    } finally {
      await second.stop();
    }
  });
});
