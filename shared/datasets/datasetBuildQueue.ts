import type { BlobServiceClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { sendJob } from '../examples/exampleJobs.js';
import { z } from '../openapi/zod.js';
import { recordDatasetOutcomeEvent } from './datasetEvents.js';
import { deleteDatasetFiles } from './datasetFiles.js';
import { findStalledBuilds, failStalledBuild } from './datasetRepository.js';

/**
 * The queue `dataset-builds` carries `{ dataset_id }` (base64 JSON, as Functions queue triggers read it by
 * default); the builder function takes one message at a time and claims the dataset, so a message delivered twice
 * builds once.
 */
export const DatasetBuildMessageSchema = z.object({ dataset_id: z.uuid() });

export async function sendDatasetBuild(queue: QueueClient, datasetId: string): Promise<void> {
  await sendJob(queue, { dataset_id: datasetId });
}

/** A building dataset with no sign of a builder for this long is sent to the queue again. */
export const STALLED_BUILD_SECONDS = 5 * 60;
/** After this many attempts a dataset that no builder finishes fails instead. */
export const MAX_BUILD_ATTEMPTS = 5;
const SWEEP_BATCH = 100;

/**
 * Datasets whose build request never reached the queue, or whose builder died (a crash, a timeout), get a builder
 * again; one that has been tried MAX_BUILD_ATTEMPTS times fails with the reason, and loses any file a dead
 * builder committed.
 */
export async function resumeStalledBuilds(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  queue: QueueClient,
): Promise<{ resent: number; failed: number }> {
  let resent = 0;
  let failed = 0;
  for (const stalled of await findStalledBuilds(db, STALLED_BUILD_SECONDS, SWEEP_BATCH)) {
    if (stalled.build_attempts >= MAX_BUILD_ATTEMPTS) {
      const message = `The build did not finish in ${stalled.build_attempts} attempts; nothing was kept.`;
      const gaveUp = await db.transaction().execute(async (trx) => {
        const row = await failStalledBuild(trx, stalled.id, stalled.build_attempts, message);
        if (row) await recordDatasetOutcomeEvent(trx, row);
        return row !== undefined;
      });
      if (gaveUp) {
        await deleteDatasetFiles(blobs, stalled.id);
        failed++;
      }
      continue;
    }
    await sendDatasetBuild(queue, stalled.id);
    resent++;
  }
  return { resent, failed };
}
