import type { ContainerClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { indexSessionBlob, type IndexerLogger } from './indexSessionBlob.js';
import { sessionBlobName } from './sessionBlob.js';
import { findStaleProcessingSessions, markUploadAbandoned } from './sessionRepository.js';

/** A session may be `processing` this long before it is looked at: uploads and indexing take far less. */
export const STALE_PROCESSING_MINUTES = 60;
const BATCH = 100;

export interface StaleUploadDeps {
  db: Kysely<Database>;
  container: ContainerClient;
  maxBytes: number;
  logger: IndexerLogger;
}

/**
 * Settles sessions stuck in `processing`: a multipart or A2P upload whose process died between writing the row and
 * storing the blob (no blob: the session becomes `invalid`, saying the upload did not complete), or a blob whose
 * trigger never ran (it is indexed now, by the same idempotent indexer). Answers the sessions it settled.
 */
export async function settleStaleUploads(deps: StaleUploadDeps): Promise<{ sessionId: string; outcome: string }[]> {
  const settled: { sessionId: string; outcome: string }[] = [];
  for (const sessionId of await findStaleProcessingSessions(deps.db, STALE_PROCESSING_MINUTES, BATCH)) {
    const exists = await deps.container.getBlockBlobClient(sessionBlobName(sessionId)).exists();
    if (exists) {
      const indexed = await indexSessionBlob(deps, sessionId);
      settled.push({ sessionId, outcome: indexed.outcome });
    } else if (await markUploadAbandoned(deps.db, sessionId, 'The upload did not complete; nothing is stored. Upload again.')) {
      settled.push({ sessionId, outcome: 'abandoned' });
    }
  }
  return settled;
}
