import { sql, type Kysely, type Transaction } from 'kysely';
import { closeStoredObjects } from '../billing/storageRepository.js';
import type { Database } from '../db/schema.js';
import { inVisibleSuites, type Viewer } from '../auth/suiteAccess.js';

type Db = Kysely<Database> | Transaction<Database>;

/*
 * Deleted examples keep their row (status, usage: it was billed) with deleted_at; their files go, and purged_at
 * says when they were all removed. A job still waiting in the outbox is dropped with the deletion, and the
 * storage ledger's interval of its files ends then: their bytes stop counting at once, not at the sampler's next
 * listing.
 */

export function lockVisibleExample(trx: Transaction<Database>, viewer: Viewer, exampleId: string) {
  return trx
    .selectFrom('examples')
    .select(['id', 'status', 'deleted_at', 'purged_at'])
    .where('id', '=', exampleId)
    .where('user_id', '=', viewer.userId)
    .where(inVisibleSuites('suite_id', viewer.suiteIds))
    .forUpdate()
    .executeTakeFirst();
}

/** The examples of a session that are not deleted, locked (so none starts processing meanwhile). */
export function lockLiveExamplesOfSession(trx: Transaction<Database>, sessionId: string) {
  return trx
    .selectFrom('examples')
    .select(['id', 'status'])
    .where('session_id', '=', sessionId)
    .where('deleted_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute();
}

export async function markExampleDeleted(db: Db, exampleIds: string[]): Promise<void> {
  if (exampleIds.length === 0) return;
  await db.updateTable('examples').set({ deleted_at: sql<Date>`coalesce(deleted_at, now())` }).where('id', 'in', exampleIds).execute();
  await db.deleteFrom('example_job_outbox').where('example_id', 'in', exampleIds).execute();
  await closeStoredObjects(db, 'example', exampleIds, 'now');
}

/** Marks examples deleted unless they are being processed or deleted already; answers those it marked. */
export async function markIdleExamplesDeleted(db: Kysely<Database>, exampleIds: string[]): Promise<string[]> {
  if (exampleIds.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable('examples')
      .set({ deleted_at: sql<Date>`now()` })
      .where('id', 'in', exampleIds)
      .where('deleted_at', 'is', null)
      .where('status', '<>', 'PROCESSING')
      .returning('id')
      .execute();
    const ids = rows.map((row) => row.id);
    if (ids.length > 0) await trx.deleteFrom('example_job_outbox').where('example_id', 'in', ids).execute();
    await closeStoredObjects(trx, 'example', ids, 'now');
    return ids;
  });
}

export async function markExamplePurged(db: Db, exampleId: string): Promise<void> {
  await db.updateTable('examples').set({ purged_at: sql<Date>`now()` }).where('id', '=', exampleId).execute();
}

export async function findUnpurgedExamples(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('examples')
    .select('id')
    .where('deleted_at', 'is not', null)
    .where('purged_at', 'is', null)
    .orderBy('deleted_at')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}
