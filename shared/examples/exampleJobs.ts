import type { QueueClient } from '@azure/storage-queue';
import type { Kysely } from 'kysely';
import type { Database, JsonObject } from '../db/schema.js';
import { isStorageStatus } from '../storage/storageErrors.js';
import { claimDueJobs, deleteOutboxRow, postponeOutboxRow } from './exampleRepository.js';

/**
 * The hand-off to the pipelines service: one JSON message per example on the queue `example-jobs`, base64
 * encoded as Functions queue triggers expect by default. Delivery is at least once (a crash between the send and
 * the outbox delete resends): the service must treat `example_id` as the key and PATCH is idempotent.
 */
export interface ExampleJob extends JsonObject {
  example_id: string;
  session_id: string;
  user_id: string;
  suite_id: string;
  model: { id: string; provider: string; name: string };
  model_configuration: JsonObject;
  action_tool_map_id: string;
  /** The session's canonical trace (the recorder's line shape, ordered by time), whatever format was uploaded. */
  input_blob: { container: string; name: string; url: string };
  /** The upload's format, for the record: the input blob is canonical either way. */
  input_format: string;
  /** The screenshots manifest (`screenshots.jsonl`, with `screenshots/` beside it), or null without screenshots. */
  screenshots_blob: { container: string; name: string; url: string } | null;
  output_blob: { container: string; name: string; url: string };
}

export function encodeJobMessage(job: JsonObject): string {
  return Buffer.from(JSON.stringify(job), 'utf8').toString('base64');
}

/** Sends one job; creates the queue if it is missing (a fresh storage account) and tries once more. */
export async function sendJob(queue: QueueClient, job: JsonObject): Promise<void> {
  try {
    await queue.sendMessage(encodeJobMessage(job));
  } catch (error) {
    if (!isStorageStatus(error, 404)) throw error;
    await queue.createIfNotExists();
    await queue.sendMessage(encodeJobMessage(job));
  }
}

/**
 * Enqueues the job written with a new example and removes its outbox row. A failure leaves the row for the
 * drain timer, so the request still succeeds: the example is PENDING with its job certain to follow.
 */
export async function dispatchJob(
  db: Kysely<Database>,
  queue: QueueClient,
  exampleId: string,
  job: JsonObject,
  log: (message: string) => void,
): Promise<void> {
  try {
    await sendJob(queue, job);
    await deleteOutboxRow(db, exampleId);
  } catch (error) {
    log(`Enqueueing the job of example ${exampleId} failed; the outbox timer will retry: ${String(error)}`);
  }
}

export const OUTBOX_BATCH = 100;

/** Sends due outbox rows; answers how many were sent and how many failed (and were postponed). */
export async function drainJobOutbox(
  db: Kysely<Database>,
  queue: QueueClient,
): Promise<{ sent: number; failed: number }> {
  return db.transaction().execute(async (trx) => {
    let sent = 0;
    let failed = 0;
    for (const row of await claimDueJobs(trx, OUTBOX_BATCH)) {
      try {
        await sendJob(queue, row.payload);
        await deleteOutboxRow(trx, row.example_id);
        sent++;
      } catch (error) {
        await postponeOutboxRow(trx, row.example_id, row.attempts, String(error));
        failed++;
      }
    }
    return { sent, failed };
  });
}

