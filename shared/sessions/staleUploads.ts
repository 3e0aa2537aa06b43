import type { ContainerClient } from '@azure/storage-blob';
import { indexSessionUpload, type IndexUploadDeps } from './indexSessionUpload.js';
import { stagingBlobName } from './sessionBlob.js';
import { recordSessionOutcomeEvent } from './sessionEvents.js';
import { findStaleProcessingSessions, markUploadAbandoned } from './sessionRepository.js';

/** A session may be `processing` this long before it is looked at: uploads and indexing take far less. */
export const STALE_PROCESSING_MINUTES = 60;
const BATCH = 100;

/**
 * Settles sessions stuck in `processing`: a multipart or A2P upload whose process died between writing the row and
 * storing the blob (no staging blob: the session becomes `invalid`, saying the upload did not complete), or an
 * upload whose trigger never ran or whose indexing died (it is indexed now, by the same idempotent indexer).
 * Answers the sessions it settled.
 */
export async function settleStaleUploads(deps: IndexUploadDeps): Promise<{ sessionId: string; outcome: string }[]> {
  const settled: { sessionId: string; outcome: string }[] = [];
  for (const session of await findStaleProcessingSessions(deps.db, STALE_PROCESSING_MINUTES, BATCH)) {
    const name = stagingBlobName(session.id, session.upload_attempt, session.upload_file_name);
    if (await deps.uploads.getBlockBlobClient(name).exists()) {
      const indexed = await indexSessionUpload(deps, name);
      settled.push({ sessionId: session.id, outcome: indexed.outcome });
    } else if (await abandonUpload(deps, session.id)) {
      settled.push({ sessionId: session.id, outcome: 'abandoned' });
    }
  }
  return settled;
}

/** Staging uploads are kept this long at most: an upload URL lives 7 days at the most (SESSION_UPLOAD_URL_TTL_SECONDS). */
export const STAGING_MAX_AGE_DAYS = 7;

/**
 * Removes staging blobs last written more than 7 days ago, committed or not: an upload that never completed (its
 * blocks staged, never committed), or one the indexer never saw. Uncommitted blobs are listed with the account's
 * own credentials (`include=uncommittedblobs`; an upload SAS cannot list). In Azure the storage lifecycle rule on
 * `uploads/` does the same for committed blobs, and the service discards uncommitted blocks after a week.
 */
export async function removeAbandonedStaging(uploads: ContainerClient, now: Date): Promise<string[]> {
  const cutoff = now.getTime() - STAGING_MAX_AGE_DAYS * 86_400_000;
  const removed: string[] = [];
  for await (const blob of uploads.listBlobsFlat({ includeUncommitedBlobs: true })) {
    const modified = blob.properties.lastModified?.getTime() ?? now.getTime();
    if (modified >= cutoff) continue;
    await uploads.deleteBlob(blob.name, { deleteSnapshots: 'include' }).catch((error: unknown) => {
      if ((error as { statusCode?: unknown }).statusCode !== 404) throw error;
    });
    removed.push(blob.name);
  }
  return removed;
}

/** `invalid`, and session.invalid said to the owner's webhooks in the same transaction. */
async function abandonUpload(deps: IndexUploadDeps, sessionId: string): Promise<boolean> {
  return deps.db.transaction().execute(async (trx) => {
    const row = await markUploadAbandoned(trx, sessionId, 'The upload did not complete; nothing is stored. Upload again.');
    if (row) await recordSessionOutcomeEvent(trx, row);
    return row !== undefined;
  });
}
