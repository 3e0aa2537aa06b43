import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { sampleStorage } from '../../shared/billing/storageSampler.js';
import { EXAMPLES_CONTAINER, SESSIONS_CONTAINER } from '../../shared/storage/layout.js';
import { addCompletedExample, addSession, addUser, createUsageFixture } from '../support/billingFixtures.js';
import { useTestDatabase } from '../support/database.js';

/*
 * The hourly storage sampler, called as its timer calls it, on a database of this file's own and the tests' Azurite.
 * Storage is billed from what was stored in each hour (the ledger of upload and deletion times), whenever the
 * sampler gets to write that hour.
 */

const HOUR = 3_600_000;
const quietLog = { log: () => undefined, warn: () => undefined };

describe('the storage sampler', () => {
  const database = useTestDatabase();
  let blobs: BlobServiceClient;

  beforeAll(async () => {
    blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
    await blobs.getContainerClient(EXAMPLES_CONTAINER).createIfNotExists();
    await blobs.getContainerClient(SESSIONS_CONTAINER).createIfNotExists();
  });

  // Each test starts the sampler at an hour of its own choosing: the mark says where samples end.
  beforeEach(async () => {
    await database.db().deleteFrom('storage_sampler_state').execute();
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

  async function markSampledUntil(until: Date) {
    await database.db().insertInto('storage_sampler_state').values({ sampled_until: until }).execute();
  }

  /** A session measured (stored) at `at`, with its trace in Blob. */
  async function storedSession(userId: string, suiteId: string, bytes: number, at: Date) {
    return addSession(database.db(), { userId, suiteId, sizeBytes: bytes, createdAt: at, blobs });
  }

  it('back-fills missed hours with what was stored then: a 10 GB upload a minute old bills none of the two days before it', async () => {
    const db = database.db();
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    const now = new Date(hourNow + 10 * 60_000);
    const userId = await addUser(db);
    const { suiteId } = await createUsageFixture(db);
    // The sampler last ran two days ago; the trace arrived a minute ago.
    await markSampledUntil(new Date(hourNow - 48 * HOUR));
    await storedSession(userId, suiteId, 10_000_000_000, new Date(now.getTime() - 60_000));

    const report = await sampleStorage(db, blobs, quietLog, now);
    expect(report).toMatchObject({ hour: new Date(hourNow - HOUR).toISOString(), example_files_listed: true, session_files_listed: true });
    expect(await samplesOf(userId)).toEqual([]);

    // Two hours on, the hour it was stored in (its last 51 minutes) and the next whole one.
    await sampleStorage(db, blobs, quietLog, new Date(hourNow + 2 * HOUR + 5 * 60_000));
    expect(await samplesOf(userId)).toEqual([
      { hour: new Date(hourNow), bytes: Math.round((10_000_000_000 * (51 * 60_000)) / HOUR) },
      { hour: new Date(hourNow + HOUR), bytes: 10_000_000_000 },
    ]);
  });

  it('counts the files of ready datasets, as the builder measured them', async () => {
    const db = database.db();
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    const userId = await addUser(db);
    await markSampledUntil(new Date(hourNow - 2 * HOUR));
    // Ready two hours ago: the ledger (a trigger on datasets) stores them from then.
    const ready = {
      user_id: userId,
      updated_at: new Date(hourNow - 2 * HOUR),
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
        { user_id: userId, name: 'c', format: 'vertex', seed: 2, updated_at: new Date(hourNow - 2 * HOUR) },
        { user_id: userId, name: 'd', format: 'trl', seed: 3, status: 'failed', error: 'storage down', updated_at: new Date(hourNow - 2 * HOUR) },
      ])
      .execute();
    await sampleStorage(db, blobs, quietLog, new Date(hourNow + 60_000));
    expect(await samplesOf(userId)).toEqual([
      { hour: new Date(hourNow - 2 * HOUR), bytes: 6_250_000 },
      { hour: new Date(hourNow - HOUR), bytes: 6_250_000 },
    ]);
  });


  it('writes each hour the byte-hours of what was stored in it, from upload to deletion, once', async () => {
    const db = database.db();
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    const userId = await addUser(db);
    const { suiteId } = await createUsageFixture(db);
    await markSampledUntil(new Date(hourNow - 4 * HOUR));
    // 1 GB from 3.5 hours ago until it was deleted 1.25 hours ago; 2 GB from 2 hours ago on.
    const first = await storedSession(userId, suiteId, 1_000_000_000, new Date(hourNow - 3.5 * HOUR));
    await db.updateTable('sessions').set({ status: 'invalid', size_bytes: null, stored_bytes: 0, updated_at: new Date(hourNow - 1.25 * HOUR) }).where('id', '=', first).execute();
    await storedSession(userId, suiteId, 2_000_000_000, new Date(hourNow - 2 * HOUR));
    const idle = await addUser(db);

    const now = new Date(hourNow + 60_000);
    await sampleStorage(db, blobs, quietLog, now);
    expect(await samplesOf(userId)).toEqual([
      { hour: new Date(hourNow - 4 * HOUR), bytes: 500_000_000 },
      { hour: new Date(hourNow - 3 * HOUR), bytes: 1_000_000_000 },
      { hour: new Date(hourNow - 2 * HOUR), bytes: 750_000_000 + 2_000_000_000 },
      { hour: new Date(hourNow - HOUR), bytes: 2_000_000_000 },
    ]);
    // Nothing stored, no sample.
    expect(await samplesOf(idle)).toEqual([]);

    // The same hour again changes nothing, even if what is stored has changed since.
    await storedSession(userId, suiteId, 7_000_000_000, new Date(hourNow - 30 * 60_000));
    await sampleStorage(db, blobs, quietLog, new Date(now.getTime() + 60_000));
    expect(await samplesOf(userId)).toHaveLength(4);
  });

  it('writes a sample worth no KB-hour (under 500 byte-hours) as settled, and one worth one as to be sent', async () => {
    const db = database.db();
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    const { suiteId } = await createUsageFixture(db);
    await markSampledUntil(new Date(hourNow - HOUR));
    const under = await addUser(db);
    const one = await addUser(db);
    await storedSession(under, suiteId, 499, new Date(hourNow - 2 * HOUR));
    await storedSession(one, suiteId, 500, new Date(hourNow - 2 * HOUR));

    await sampleStorage(db, blobs, quietLog, new Date(hourNow + 60_000));
    const stateOf = (userId: string) =>
      db.selectFrom('storage_samples').select(['bytes', 'stripe_resolution']).select((eb) => eb('stripe_sent_at', 'is not', null).as('settled')).where('user_id', '=', userId).execute();
    expect(await stateOf(under)).toEqual([{ bytes: 499, stripe_resolution: 'nothing_to_send', settled: true }]);
    expect(await stateOf(one)).toEqual([{ bytes: 500, stripe_resolution: null, settled: false }]);
  });

  it('never bills a trace or an example file once its blobs are gone (retention, the lifecycle rule)', async () => {
    const db = database.db();
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    const userId = await addUser(db);
    const fixture = await createUsageFixture(db);
    const sessionId = await storedSession(userId, fixture.suiteId, 4_000_000_000, new Date(hourNow - 6 * HOUR));
    const { exampleId } = await addCompletedExample(db, { userId, fixture, sessionId, inputTokens: 1, outputTokens: 1 });
    const file = blobs.getContainerClient(EXAMPLES_CONTAINER).getBlockBlobClient(`${exampleId}/messages.jsonl`);
    await file.upload('x'.repeat(5000), 5000);
    const uploaded = (await file.getProperties()).createdOn as Date;
    // A file of an example this database does not know counts for nobody.
    await blobs.getContainerClient(EXAMPLES_CONTAINER).getBlockBlobClient(`${randomUUID()}/messages.jsonl`).upload('y'.repeat(77), 77);

    await markSampledUntil(new Date(hourNow - HOUR));
    const firstRun = new Date();
    await sampleStorage(db, blobs, quietLog, firstRun);
    const ledger = await db.selectFrom('stored_objects').select(['kind', 'bytes', 'stored_from', 'stored_until']).where('user_id', '=', userId).orderBy('kind').execute();
    expect(ledger).toEqual([
      { kind: 'example', bytes: 5000, stored_from: uploaded, stored_until: null },
      { kind: 'session', bytes: 4_000_000_000, stored_from: new Date(hourNow - 6 * HOUR), stored_until: null },
    ]);

    // The lifecycle rule deletes the trace and the file; the next run (two hours on) finds them gone and stops
    // counting them from the last time it saw them.
    await blobs.getContainerClient(SESSIONS_CONTAINER).getBlockBlobClient(`${sessionId}/original/trace.jsonl`).delete();
    await file.delete();
    const report = await sampleStorage(db, blobs, quietLog, new Date(hourNow + 2 * HOUR + 60_000));
    expect(report.closed).toBe(2);
    const closed = await db.selectFrom('stored_objects').select(['kind', 'stored_until']).where('user_id', '=', userId).orderBy('kind').execute();
    expect(closed).toEqual([
      { kind: 'example', stored_until: firstRun },
      { kind: 'session', stored_until: firstRun },
    ]);
    const samples = await samplesOf(userId);
    expect(samples.map((sample) => sample.hour)).toEqual([new Date(hourNow - HOUR), new Date(hourNow)]);
    expect(samples[0]?.bytes).toBe(4_000_000_000);
    const stored = (4_000_000_000 * (firstRun.getTime() - hourNow) + 5000 * (firstRun.getTime() - uploaded.getTime())) / HOUR;
    expect(Math.abs((samples[1]?.bytes ?? 0) - stored)).toBeLessThanOrEqual(1);
  });

  it('keeps the ledger as it was when Blob cannot be listed, and still samples from it', async () => {
    const db = database.db();
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    const userId = await addUser(db);
    const { suiteId } = await createUsageFixture(db);
    await storedSession(userId, suiteId, 4242, new Date(hourNow - 5 * HOUR));
    await markSampledUntil(new Date(hourNow - HOUR));
    const unreachable = BlobServiceClient.fromConnectionString(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=' +
        Buffer.from('k').toString('base64') +
        ';BlobEndpoint=http://127.0.0.1:9/devstoreaccount1',
      { retryOptions: { maxTries: 1 } },
    );
    const warnings: unknown[] = [];
    const report = await sampleStorage(db, unreachable, { log: () => undefined, warn: (...args) => warnings.push(args) }, new Date(hourNow + 60_000));
    expect(report).toMatchObject({ example_files_listed: false, session_files_listed: false, closed: 0 });
    expect(warnings).toHaveLength(2);
    expect(await samplesOf(userId)).toEqual([{ hour: new Date(hourNow - HOUR), bytes: 4242 }]);
  });
});
