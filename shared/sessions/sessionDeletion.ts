import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { processing, purgeExampleFiles } from '../examples/exampleDeletion.js';
import { lockLiveExamplesOfSession, markExampleDeleted } from '../examples/exampleLifecycleRepository.js';
import { deleteBlobFolder } from '../storage/blobFolders.js';
import type { FileStores } from '../storage/fileStores.js';
import { sessionFolderPrefix } from './sessionBlob.js';
import { lockVisibleSession, markSessionPurged, markSessionsDeleted } from './sessionLifecycleRepository.js';

/**
 * DELETE /v1/sessions/{id}[?cascade=true]. In one transaction, under row locks: the session (and with cascade
 * its examples) is marked deleted and stops counting as stored; then its files go: the canonical trace,
 * screenshots and manifest, the original, and every staging blob of every upload attempt. The row stays as
 * `deleted` (metadata for billing history). Refused with 409, changing nothing: while examples of it exist (unless
 * cascade), while one of them is being processed, while the session itself is being indexed. A repeated DELETE is
 * a 204 that removes whatever files are still there (storage down the first time).
 */
export async function deleteSession(
  db: Kysely<Database>,
  stores: FileStores,
  auth: AuthContext,
  sessionId: string,
  options: { cascade: boolean },
): Promise<void> {
  const examples = await db.transaction().execute(async (trx) => {
    const session = await lockVisibleSession(trx, auth, sessionId);
    if (!session) throw ApiError.notFound('No such session.');
    if (session.status === 'processing') {
      throw ApiError.conflict('The session is being indexed; delete it once it is ready or invalid.', { session_status: session.status });
    }
    const live = await lockLiveExamplesOfSession(trx, sessionId);
    if (live.length > 0 && !options.cascade) {
      throw ApiError.conflict(
        `The session has ${live.length} example(s); delete them first, or pass cascade=true to delete them with it.`,
        { reason: 'session_has_examples', example_count: live.length },
      );
    }
    const busy = live.filter((example) => example.status === 'PROCESSING').map((example) => example.id);
    if (busy.length > 0) throw processing(busy);
    await markExampleDeleted(trx, live.map((example) => example.id));
    await markSessionsDeleted(trx, [sessionId]);
    return live.map((example) => example.id);
  });
  for (const exampleId of examples) await purgeExampleFiles(db, stores, exampleId);
  await purgeSessionFiles(db, stores, sessionId);
}

/** Removes every file of a deleted or expired session, then records that they are gone. */
export async function purgeSessionFiles(db: Kysely<Database>, stores: FileStores, sessionId: string): Promise<void> {
  await deleteBlobFolder(stores.sessions, sessionFolderPrefix(sessionId));
  await deleteBlobFolder(stores.uploads, sessionFolderPrefix(sessionId));
  await markSessionPurged(db, sessionId);
}
