import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kysely } from 'kysely';
import { createDatabase } from '../../shared/db/database.js';
import type { Database } from '../../shared/db/schema.js';
import { dispatchJob, drainJobOutbox } from '../../shared/examples/exampleJobs.js';
import { createExampleViaApi } from '../support/examples.js';
import { createTestUser } from '../support/users.js';

let db: Kysely<Database>;

beforeAll(() => {
  db = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 2 });
});

afterAll(async () => {
  await db.destroy();
});

/** A queue on a port where nothing listens: a storage outage as the SDK meets it. */
function unreachableQueue(): QueueClient {
  const connection = inject('storageConnectionString').replace(/QueueEndpoint=[^;]+/, 'QueueEndpoint=http://127.0.0.1:9/devstoreaccount1');
  return QueueServiceClient.fromConnectionString(connection, { retryOptions: { maxTries: 1 } }).getQueueClient('example-jobs');
}

async function queuedJobFor(exampleId: string): Promise<boolean> {
  const queue = QueueServiceClient.fromConnectionString(inject('storageConnectionString')).getQueueClient('example-jobs');
  for (let attempt = 0; attempt < 20; attempt++) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 1 });
    for (const item of receivedMessageItems) {
      const job = JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')) as { example_id: string };
      if (job.example_id === exampleId) {
        await queue.deleteMessage(item.messageId, item.popReceipt);
        return true;
      }
    }
  }
  return false;
}

describe('the example job outbox', () => {
  it('keeps the job when the queue is down, postpones it on a failed drain, and sends it once the queue is back', async () => {
    const user = await createTestUser();
    const { id: exampleId, session_id: sessionId } = await createExampleViaApi(user);
    expect(await queuedJobFor(exampleId)).toBe(true); // the API sent it; now replay a failed send
    const job = { example_id: exampleId, session_id: sessionId };

    // The API host's own drain timer (every 30 s) may send the row between two steps here; then the job it sent is
    // taken off the queue and the failed send is replayed.
    let postponed: { attempts: number; last_error: string | null; next_attempt_at: Date } | undefined;
    for (let round = 0; round < 3 && !postponed; round++) {
      await db.insertInto('example_job_outbox').values({ example_id: exampleId, payload: JSON.stringify(job) }).execute();
      const warnings: string[] = [];
      await dispatchJob(db, unreachableQueue(), exampleId, job, (message) => warnings.push(message));
      expect(warnings[0]).toContain(exampleId);
      const kept = await db.selectFrom('example_job_outbox').selectAll().where('example_id', '=', exampleId).executeTakeFirst();
      if (kept) expect(kept.attempts).toBe(0);

      await drainJobOutbox(db, unreachableQueue());
      postponed = await db.selectFrom('example_job_outbox').selectAll().where('example_id', '=', exampleId).executeTakeFirst();
      if (!postponed) expect(await queuedJobFor(exampleId)).toBe(true);
    }
    if (!postponed) throw new Error('The host drained the outbox row first three times in a row.');
    expect(postponed.attempts).toBe(1);
    expect(postponed.last_error).toBeTruthy();
    expect(postponed.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 20_000);

    await db.updateTable('example_job_outbox').set({ next_attempt_at: new Date(0) }).where('example_id', '=', exampleId).execute();
    const queue = QueueServiceClient.fromConnectionString(inject('storageConnectionString')).getQueueClient('example-jobs');
    const drained = await drainJobOutbox(db, queue);
    expect(drained.failed).toBe(0); // sent here, or by the host's timer a moment before: either way, once
    expect(await db.selectFrom('example_job_outbox').select('example_id').where('example_id', '=', exampleId).execute()).toEqual([]);
    expect(await queuedJobFor(exampleId)).toBe(true);
  });
});
