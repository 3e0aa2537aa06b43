import type { Kysely } from 'kysely';
import type { Database, SessionStatus, SessionValidationError } from '../db/schema.js';
import { offsetOf, type Pagination } from '../http/pagination.js';

type Db = Kysely<Database>;

const SESSION_COLUMNS = [
  'sessions.id',
  'sessions.suite_id',
  'sessions.description',
  'sessions.storage_path',
  'sessions.status',
  'sessions.size_bytes',
  'sessions.event_count',
  'sessions.event_counts',
  'sessions.sha256',
  'sessions.first_event_ts',
  'sessions.last_event_ts',
  'sessions.validation_errors',
  'sessions.created_at',
  'sessions.updated_at',
] as const;

/** Who is asking: the owner, and the suites their key is limited to (null: all). */
export interface SessionViewer {
  userId: string;
  suiteIds: string[] | null;
}

export async function suiteExists(db: Db, suiteId: string): Promise<boolean> {
  const row = await db.selectFrom('suites').select('id').where('id', '=', suiteId).executeTakeFirst();
  return row !== undefined;
}

export function insertSession(
  db: Db,
  values: {
    id: string;
    userId: string;
    suiteId: string;
    description: string | null;
    storagePath: string;
    status: SessionStatus;
  },
) {
  return db
    .insertInto('sessions')
    .values({
      id: values.id,
      user_id: values.userId,
      suite_id: values.suiteId,
      description: values.description,
      storage_path: values.storagePath,
      status: values.status,
    })
    .returning(SESSION_COLUMNS)
    .executeTakeFirstOrThrow();
}

export type SessionRow = Awaited<ReturnType<typeof insertSession>>;

/** Undoes a creation whose upload failed. Only a session nobody has indexed yet is removed. */
export async function deleteUnindexedSession(db: Db, sessionId: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', sessionId).where('indexed_etag', 'is', null).execute();
}

/** The session if it is the viewer's and in a suite their key may see; otherwise undefined (a 404). */
export function findVisibleSession(db: Db, viewer: SessionViewer, sessionId: string) {
  let query = db
    .selectFrom('sessions')
    .select(SESSION_COLUMNS)
    .where('sessions.id', '=', sessionId)
    .where('sessions.user_id', '=', viewer.userId);
  if (viewer.suiteIds !== null) query = query.where('sessions.suite_id', 'in', nonEmpty(viewer.suiteIds));
  return query.executeTakeFirst();
}

/** The viewer's sessions, newest first (id breaks ties), served by sessions_user_idx / sessions_user_suite_idx. */
export async function listVisibleSessions(
  db: Db,
  viewer: SessionViewer,
  filters: { suiteId?: string | undefined },
  pagination: Pagination,
): Promise<{ rows: SessionRow[]; total: number }> {
  let base = db.selectFrom('sessions').where('sessions.user_id', '=', viewer.userId);
  if (filters.suiteId !== undefined) base = base.where('sessions.suite_id', '=', filters.suiteId);
  if (viewer.suiteIds !== null) base = base.where('sessions.suite_id', 'in', nonEmpty(viewer.suiteIds));
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
    base
      .select(SESSION_COLUMNS)
      .orderBy('sessions.created_at', 'desc')
      .orderBy('sessions.id', 'desc')
      .limit(pagination.per_page)
      .offset(offsetOf(pagination))
      .execute(),
  ]);
  return { rows, total: Number(count.total) };
}

/** `in ()` is not SQL; a key limited to no suite matches nothing (the nil UUID is never a suite id). */
function nonEmpty(ids: string[]): string[] {
  return ids.length > 0 ? ids : ['00000000-0000-0000-0000-000000000000'];
}

// ---- The indexer's reads and writes -------------------------------------------------------------------------

export function findSessionForIndexing(db: Db, sessionId: string) {
  return db
    .selectFrom('sessions')
    .select(['id', 'status', 'indexed_etag'])
    .where('id', '=', sessionId)
    .executeTakeFirst();
}

/** Marks the session as being indexed, unless this very blob version has been indexed already. */
export async function markSessionProcessing(db: Db, sessionId: string, etag: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ status: 'processing' })
    .where('id', '=', sessionId)
    .where('status', '<>', 'processing')
    .where((eb) => eb.or([eb('indexed_etag', 'is', null), eb('indexed_etag', '<>', etag)]))
    .execute();
}

export interface SessionIndexRecord {
  status: 'ready' | 'invalid';
  /** Bytes stored (usage metering sums these): null when the upload was deleted. */
  sizeBytes: number | null;
  sha256: string | null;
  eventCount: number | null;
  eventCounts: Record<string, number> | null;
  firstTs: number | null;
  lastTs: number | null;
  errors: SessionValidationError[];
}

/**
 * Writes the outcome of indexing one blob version. The ETag condition makes a re-delivered event a no-op even
 * when two deliveries race: only the first write of an ETag changes the row. Answers whether it did.
 */
export async function recordSessionIndex(
  db: Db,
  sessionId: string,
  etag: string,
  record: SessionIndexRecord,
): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({
      status: record.status,
      size_bytes: record.sizeBytes,
      sha256: record.sha256,
      event_count: record.eventCount,
      event_counts: record.eventCounts === null ? null : JSON.stringify(record.eventCounts),
      first_event_ts: record.firstTs,
      last_event_ts: record.lastTs,
      validation_errors: JSON.stringify(record.errors),
      indexed_etag: etag,
    })
    .where('id', '=', sessionId)
    .where((eb) => eb.or([eb('indexed_etag', 'is', null), eb('indexed_etag', '<>', etag)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** What indexing made of a session: its status and, when invalid, the problems found. */
export async function findSessionOutcome(db: Db, sessionId: string) {
  return db
    .selectFrom('sessions')
    .select(['id', 'status', 'validation_errors', 'created_at'])
    .where('id', '=', sessionId)
    .executeTakeFirst();
}

/** Sessions `processing` for longer than `olderThanMinutes`: an upload whose process died, or a missed trigger. */
export async function findStaleProcessingSessions(db: Db, olderThanMinutes: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('sessions')
    .select('id')
    .where('status', '=', 'processing')
    .where('updated_at', '<', new Date(Date.now() - olderThanMinutes * 60_000))
    .orderBy('updated_at')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

/** An upload that never completed: `invalid` with that said, and nothing stored (size null), if still processing. */
export async function markUploadAbandoned(db: Db, sessionId: string, message: string): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ status: 'invalid', size_bytes: null, validation_errors: JSON.stringify([{ line: 0, message }]) })
    .where('id', '=', sessionId)
    .where('status', '=', 'processing')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
