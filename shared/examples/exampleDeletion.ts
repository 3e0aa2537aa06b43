import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { deleteBlobFolder } from '../storage/blobFolders.js';
import type { FileStores } from '../storage/fileStores.js';
import { lockVisibleExample, markExampleDeleted, markExamplePurged } from './exampleLifecycleRepository.js';

/**
 * DELETE /v1/examples/{id}: the row is marked deleted (its status and usage stay: usage already recorded was
 * billed), its job dropped if it had not reached the queue, then its files (`examples/<id>/`) are removed. An
 * example the pipelines service is processing is a 409: its result would land after the deletion. A repeated
 * DELETE is a 204 that removes whatever files are still there.
 */
export async function deleteExample(db: Kysely<Database>, stores: FileStores, auth: AuthContext, exampleId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const example = await lockVisibleExample(trx, auth, exampleId);
    if (!example) throw ApiError.notFound('No such example.');
    if (example.deleted_at) return;
    if (example.status === 'PROCESSING') throw processing([example.id]);
    await markExampleDeleted(trx, [example.id]);
  });
  await purgeExampleFiles(db, stores, exampleId);
}

export function processing(exampleIds: string[]): ApiError {
  return ApiError.conflict(
    'The pipelines service is processing this example; delete it once it is COMPLETED or FAILED.',
    { reason: 'example_processing', example_ids: exampleIds },
  );
}

/** Removes a deleted example's files, then records that they are gone. */
export async function purgeExampleFiles(db: Kysely<Database>, stores: FileStores, exampleId: string): Promise<void> {
  await deleteBlobFolder(stores.examples, `${exampleId}/`);
  await markExamplePurged(db, exampleId);
}
