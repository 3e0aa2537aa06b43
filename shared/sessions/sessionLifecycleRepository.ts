import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { inVisibleSuites, type Viewer } from '../auth/suiteAccess.js';

type Db = Kysely<Database> | Transaction<Database>;

/*
 * The lifecycle of a session's row once its files go: deleted (by its owner, or an erasure) or expired (by
 * retention). The row stays, with what was measured (billing history); stored_bytes drops to 0 in the same
 * statement, so storage stops counting at once; purged_at says when its files were all removed.
 */

/** The viewer's session, locked for the rest of the transaction; undefined when it is not theirs (a 404). */
export function lockVisibleSession(trx: Transaction<Database>, viewer: Viewer, sessionId: string) {
  return trx
    .selectFrom('sessions')
    .select(['id', 'status', 'purged_at'])
    .where('id', '=', sessionId)
    .where('user_id', '=', viewer.userId)
    .where(inVisibleSuites('suite_id', viewer.suiteIds))
    .forUpdate()
    .executeTakeFirst();
}

/** Marks sessions deleted now (those already deleted keep their time); an indexing claim they held is dropped. */
export async function markSessionsDeleted(db: Db, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  await db
    .updateTable('sessions')
    .set({ status: 'deleted', deleted_at: sql<Date>`coalesce(deleted_at, now())`, stored_bytes: 0, indexing_etag: null })
    .where('id', 'in', sessionIds)
    .execute();
}

/** Marks sessions expired now, unless they were deleted, expired or claimed by the indexer meanwhile; answers those it marked. */
export async function markSessionsExpired(db: Db, sessionIds: string[]): Promise<string[]> {
  if (sessionIds.length === 0) return [];
  const rows = await db
    .updateTable('sessions')
    .set({ status: 'expired', expired_at: sql<Date>`now()`, stored_bytes: 0, indexing_etag: null })
    .where('id', 'in', sessionIds)
    .where('status', 'in', ['ready', 'invalid', 'awaiting_upload'])
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

export async function markSessionPurged(db: Db, sessionId: string): Promise<void> {
  await db.updateTable('sessions').set({ purged_at: sql<Date>`now()` }).where('id', '=', sessionId).execute();
}

/** Deleted or expired sessions whose files are not known to be gone (oldest first). */
export async function findUnpurgedSessions(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('sessions')
    .select('id')
    .where((eb) => eb.or([eb('deleted_at', 'is not', null), eb('expired_at', 'is not', null)]))
    .where('purged_at', 'is', null)
    .orderBy(sql`coalesce(deleted_at, expired_at)`)
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

/** Whether the session is gone (deleted, expired, or no row): an indexing run for it keeps nothing. */
export async function isSessionGone(db: Db, sessionId: string): Promise<boolean> {
  const row = await db.selectFrom('sessions').select('status').where('id', '=', sessionId).executeTakeFirst();
  return !row || row.status === 'deleted' || row.status === 'expired';
}
