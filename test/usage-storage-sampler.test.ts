import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { sampleStorage } from '../shared/billing/storageSampler.js';
import { EXAMPLES_CONTAINER } from '../shared/storage/layout.js';
import { useTestDatabase } from './support/database.js';
import { addCompletedExample, addSession, addUser, createUsageFixture } from './support/fakeStripe.js';

/* The hourly storage sampler, called as its timer calls it, on a database of this file's own and the tests' Azurite. */

const HOUR = 3_600_000;
const quietLog = { log: () => undefined, warn: () => undefined };

describe('the storage sampler', () => {
  const database = useTestDatabase();
  let blobs: BlobServiceClient;

  beforeAll(async () => {
    blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
    await blobs.getContainerClient(EXAMPLES_CONTAINER).createIfNotExists();
  });

  function samplesOf(userId: string) {
    return database
      .db()
      .selectFrom('storage_samples')
      .select(['hour', 'bytes'])
      .where('user_id', '=', userId)
      .orderBy('hour')
      .execute();
  }

  it('writes one sample per user per whole hour, with sessions and example files, once per hour, and catches up missed hours', async () => {
    const db = database.db();
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    const now = new Date(hourNow + 10 * 60_000);
    const userId = await addUser(db);
    const idle = await addUser(db);
    await db
      .updateTable('users')
      .set({ created_at: new Date(now.getTime() - 2.5 * HOUR) })
      .where('id', 'in', [userId, idle])
      .execute();
    const fixture = await createUsageFixture(db);
    const sessionId = await addSession(db, { userId, suiteId: fixture.suiteId, sizeBytes: 1_000_000 });
    await addSession(db, { userId, suiteId: fixture.suiteId, sizeBytes: 2_000_000 });
    await addSession(db, { userId, suiteId: fixture.suiteId, status: 'awaiting_upload', sizeBytes: null });
    const { exampleId } = await addCompletedExample(db, { userId, fixture, sessionId, inputTokens: 1, outputTokens: 1 });
    const container = blobs.getContainerClient(EXAMPLES_CONTAINER);
    await container.getBlockBlobClient(`${exampleId}/messages.jsonl`).upload('x'.repeat(500), 500);
    // A file of an example this database does not know counts for nobody.
    await container.getBlockBlobClient(`${randomUUID()}/messages.jsonl`).upload('y'.repeat(77), 77);

    const report = await sampleStorage(db, blobs, quietLog, now);
    expect(report).toEqual({ hour: new Date(hourNow - HOUR).toISOString(), samples_written: 6, example_bytes_listed: true });
    const hours = [hourNow - 3 * HOUR, hourNow - 2 * HOUR, hourNow - HOUR].map((h) => new Date(h));
    expect(await samplesOf(userId)).toEqual(hours.map((hour) => ({ hour, bytes: 3_000_500 })));
    expect(await samplesOf(idle)).toEqual(hours.map((hour) => ({ hour, bytes: 0 })));
    // Nothing stored, nothing to bill: settled at once, so the Stripe sync never reads them.
    const settled = await db
      .selectFrom('storage_samples')
      .select(['user_id', 'stripe_resolution'])
      .where('stripe_sent_at', 'is not', null)
      .execute();
    expect(settled).toEqual(hours.map(() => ({ user_id: idle, stripe_resolution: 'nothing_to_send' })));

    // The same hour again: nothing new.
    expect((await sampleStorage(db, blobs, quietLog, new Date(now.getTime() + 60_000))).samples_written).toBe(0);

    // The timer missed an hour: the next run fills both with what it measures.
    await addSession(db, { userId, suiteId: fixture.suiteId, sizeBytes: 10_000_000 });
    const later = await sampleStorage(db, blobs, quietLog, new Date(now.getTime() + 2 * HOUR));
    expect(later.samples_written).toBe(4);
    expect((await samplesOf(userId)).slice(3)).toEqual([
      { hour: new Date(hourNow), bytes: 13_000_500 },
      { hour: new Date(hourNow + HOUR), bytes: 13_000_500 },
    ]);
  });

  it('counts the files of ready datasets, as the builder measured them', async () => {
    const db = database.db();
    const userId = await addUser(db);
    await db.updateTable('users').set({ created_at: new Date(Date.now() - 1.5 * HOUR) }).where('id', '=', userId).execute();
    const ready = {
      user_id: userId,
      format: 'openai' as const,
      seed: 1,
      train_count: 1,
      validation_count: 1,
      train_sha256: '0'.repeat(64),
      validation_sha256: '0'.repeat(64),
      lint: JSON.stringify({}),
    };
    await db
      .insertInto('datasets')
      .values([
        { ...ready, name: 'a', status: 'ready', train_bytes: 5_000_000, validation_bytes: 1_000_000 },
        { ...ready, name: 'b', status: 'ready', train_bytes: 250_000, validation_bytes: 0 },
        // Building and failed datasets keep no files.
        { user_id: userId, name: 'c', format: 'vertex', seed: 2 },
        { user_id: userId, name: 'd', format: 'trl', seed: 3, status: 'failed', error: 'storage down' },
      ])
      .execute();
    await sampleStorage(db, blobs, quietLog);
    const samples = await samplesOf(userId);
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((sample) => sample.bytes === 6_250_000)).toBe(true);
  });

  it('keeps the previous example figures when Blob cannot be listed', async () => {
    const db = database.db();
    const userId = await addUser(db);
    await db.updateTable('users').set({ created_at: new Date(Date.now() - 2 * HOUR) }).where('id', '=', userId).execute();
    await db.insertInto('example_storage_totals').values({ user_id: userId, bytes: 4242, measured_at: new Date() }).execute();
    const unreachable = BlobServiceClient.fromConnectionString(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=' +
        Buffer.from('k').toString('base64') +
        ';BlobEndpoint=http://127.0.0.1:9/devstoreaccount1',
      { retryOptions: { maxTries: 1 } },
    );
    const warnings: unknown[] = [];
    const report = await sampleStorage(db, unreachable, { log: () => undefined, warn: (...args) => warnings.push(args) });
    expect(report.example_bytes_listed).toBe(false);
    expect(warnings).toHaveLength(1);
    const [sample] = await samplesOf(userId);
    expect(sample?.bytes).toBe(4242);
  });
});
