import type { Kysely } from 'kysely';
import type { Database, UserErasureStep } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { deleteUserDataset } from '../datasets/datasetRepository.js';
import { purgeExampleFiles } from '../examples/exampleDeletion.js';
import { purgeSessionFiles } from '../sessions/sessionDeletion.js';
import { deleteBlobFolder } from '../storage/blobFolders.js';
import type { FileStores } from '../storage/fileStores.js';
import {
  anonymiseUser,
  beginErasure,
  datasetsOf,
  findStalledErasures,
  findUserByIdentity,
  hasLiveData,
  markAllExamplesErased,
  markAllSessionsErased,
  recordErasureStep,
  revokeAllKeys,
  unpurgedOf,
} from './userErasureRepository.js';

/**
 * Erasing a user (DELETE /v1/users/me), as steps recorded in user_erasures: each step is idempotent and the step
 * reached is written only once it is done, so an erasure that dies anywhere (a crash, a deployment, storage down)
 * is finished by the next call, or by the timer that resumes unfinished erasures, from where it was.
 *
 *   requested        the row exists: from here the account's Bearer token authenticates no more
 *   keys_revoked     every API key revoked
 *   datasets_erased  every dataset's files (`datasets/<id>/`) and row deleted (before the examples they list)
 *   examples_erased  every example deleted, its messages removed, its model configuration and error cleared
 *   sessions_erased  every session deleted, all its files removed (trace, original, screenshots, staging), its
 *                    description and file names cleared
 *   done             A2P tasks, settings, webhook endpoints and events, the budget deleted; the user row anonymised
 *
 * Kept, because accounting law requires it (README, "Erasing an account"): the user row's id, Stripe customer id
 * and creation and erasure times; invoices; token usage and storage samples (and their roll-ups); the sessions'
 * and examples' rows as billing history (sizes, counts, times, statuses, token counts), without their content.
 *
 */

const BATCH = 200;

export interface ErasureDeps {
  db: Kysely<Database>;
  stores: FileStores;
  /** Told after each step is recorded (logs; the crash test kills its process there). */
  onStep?: (step: UserErasureStep) => void | Promise<void>;
}

/** Purges a batch at a time until nothing is left (each purge marks its row, so the next batch is new rows). */
async function purgeAll(next: () => Promise<string[]>, purge: (id: string) => Promise<void>): Promise<void> {
  for (let ids = await next(); ids.length > 0; ids = await next()) {
    for (const id of ids) await purge(id);
  }
}

/**
 * A dataset's files, then its row (whose deletion ends its storage interval: a trigger of 0009): a crash in
 * between leaves the row for the retry. A build still running deletes what it writes once the row is gone.
 */
async function eraseDataset(deps: ErasureDeps, userId: string, datasetId: string): Promise<void> {
  await deleteBlobFolder(deps.stores.datasets, `${datasetId}/`);
  await deleteUserDataset(deps.db, userId, datasetId);
}

/** Runs the erasure of `userId` to its end, from wherever it was; answers its last step (`done`). */
export async function eraseUser(deps: ErasureDeps, userId: string): Promise<UserErasureStep> {
  const { db } = deps;
  let step = await beginErasure(db, userId);
  const advance = async (next: UserErasureStep) => {
    await recordErasureStep(db, userId, next);
    step = next;
    await deps.onStep?.(next);
  };
  while (step !== 'done') {
    switch (step) {
      case 'requested':
        await revokeAllKeys(db, userId);
        await advance('keys_revoked');
        break;
      case 'keys_revoked':
        await purgeAll(() => datasetsOf(db, userId, BATCH), (id) => eraseDataset(deps, userId, id));
        await advance('datasets_erased');
        break;
      case 'datasets_erased':
        await markAllExamplesErased(db, userId);
        await purgeAll(() => unpurgedOf(db, 'examples', userId, BATCH), (id) => purgeExampleFiles(db, deps.stores, id));
        await advance('examples_erased');
        break;
      case 'examples_erased':
        await markAllSessionsErased(db, userId);
        await purgeAll(() => unpurgedOf(db, 'sessions', userId, BATCH), (id) => purgeSessionFiles(db, deps.stores, id));
        await advance('sessions_erased');
        break;
      case 'sessions_erased':
        // Something created by a request authenticated just before the erasure began: round again.
        if (await hasLiveData(db, userId)) {
          await advance('requested');
          break;
        }
        await db.transaction().execute(async (trx) => {
          await anonymiseUser(trx, userId);
          await recordErasureStep(trx, userId, 'done');
        });
        step = 'done';
        await deps.onStep?.('done');
        break;
    }
  }
  return step;
}

/**
 * DELETE /v1/users/me for the signed-in identity: `confirm` must be the user's id (a 422 naming it otherwise,
 * nothing erased). An identity with no account, which includes one whose erasure finished (the row no longer
 * names it), has nothing to erase: that is a success too, so a retry after any failure answers the same.
 */
export async function requestErasure(
  deps: ErasureDeps,
  identity: { issuer: string; subject: string },
  confirm: string,
): Promise<void> {
  const user = await findUserByIdentity(deps.db, identity.issuer, identity.subject);
  if (!user) return;
  if (confirm.toLowerCase() !== user.id) {
    throw ApiError.validation('confirm must be your user id (GET /v1/users/me): nothing was erased.', {
      fields: [{ location: 'body', field: 'confirm', message: 'Not the id of the signed-in user.' }],
    });
  }
  await eraseUser(deps, user.id);
}

/** Erasures begun but not finished for a while (the process died): finished here, oldest first. */
export async function resumeUserErasures(deps: ErasureDeps, idleMinutes: number): Promise<string[]> {
  const userIds = await findStalledErasures(deps.db, idleMinutes, BATCH);
  for (const userId of userIds) await eraseUser(deps, userId);
  return userIds;
}
