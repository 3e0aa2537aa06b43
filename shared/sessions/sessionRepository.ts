import type { Insertable, Kysely, Updateable } from 'kysely';
import { inVisibleSuites, type Viewer } from '../auth/suiteAccess.js';
import type { Database, SessionsTable } from '../db/schema.js';
import type { Pagination } from '../validation/pagination.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

type Db = Kysely<Database>;

const SESSION_COLUMNS = [
  'sessions.id',
  'sessions.suite_id',
  'sessions.description',
  'sessions.storage_path',
  'sessions.status',
  'sessions.format',
  'sessions.requested_format',
  'sessions.skip_invalid_lines',
  'sessions.upload_file_name',
  'sessions.upload_attempt',
  'sessions.size_bytes',
  'sessions.sha256',
  'sessions.canonical_size_bytes',
  'sessions.canonical_sha256',
  'sessions.original_file_name',
  'sessions.event_count',
  'sessions.event_counts',
  'sessions.clock',
  'sessions.first_event_ts',
  'sessions.last_event_ts',
  'sessions.first_event_at',
  'sessions.last_event_at',
  'sessions.screenshot_count',
  'sessions.tab_count',
  'sessions.url_count',
  'sessions.dropped_event_count',
  'sessions.skipped_event_count',
  'sessions.validation_errors',
  'sessions.redactions',
  'sessions.redaction_counts',
  'sessions.deleted_at',
  'sessions.expired_at',
  'sessions.created_at',
  'sessions.updated_at',
] as const;

export function insertSession(db: Db, values: Insertable<SessionsTable>) {
  return db.insertInto('sessions').values(values).returning(SESSION_COLUMNS).executeTakeFirstOrThrow();
}

export type SessionRow = Awaited<ReturnType<typeof insertSession>>;

/** Undoes a creation whose upload failed. Only a session nobody has indexed yet is removed. */
export async function deleteUnindexedSession(db: Db, sessionId: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', sessionId).where('indexed_etag', 'is', null).execute();
}

/** The session if it is the viewer's and in a suite their key may see; otherwise undefined (a 404). */
export function findVisibleSession(db: Db, viewer: Viewer, sessionId: string) {
  return db
    .selectFrom('sessions')
    .select(SESSION_COLUMNS)
    .where('sessions.id', '=', sessionId)
    .where('sessions.user_id', '=', viewer.userId)
    .where(inVisibleSuites('sessions.suite_id', viewer.suiteIds))
    .executeTakeFirst();
}

/** The viewer's sessions, newest first (id breaks ties), served by sessions_user_idx / sessions_user_suite_idx. */
export async function listVisibleSessions(
  db: Db,
  viewer: Viewer,
  filters: { suiteId?: string | undefined; includeDeleted?: boolean },
  pagination: Pagination,
): Promise<{ rows: SessionRow[]; total: number }> {
  let base = db
    .selectFrom('sessions')
    .where('sessions.user_id', '=', viewer.userId)
    .where(inVisibleSuites('sessions.suite_id', viewer.suiteIds));
  if (filters.suiteId !== undefined) base = base.where('sessions.suite_id', '=', filters.suiteId);
  if (!filters.includeDeleted) base = base.where('sessions.status', '<>', 'deleted');
  return newestFirstPage(base, (query) => query.select(SESSION_COLUMNS), pagination, 'sessions');
}

/**
 * A new upload URL for a session whose upload has not arrived or was invalid: the next attempt number (so the
 * old URL's blob, if it ever comes, is ignored), the session back to `awaiting_upload` with nothing measured.
 * Undefined when the session is not the viewer's or is in another state.
 */
export function startNextUploadAttempt(
  db: Db,
  viewer: Viewer,
  sessionId: string,
  changes: Pick<Updateable<SessionsTable>, 'upload_file_name' | 'requested_format' | 'skip_invalid_lines'>,
) {
  return db
    .updateTable('sessions')
    .set((eb) => ({
      ...changes,
      upload_attempt: eb('upload_attempt', '+', 1),
      status: 'awaiting_upload' as const,
      upload_method: 'url' as const,
      ...UNMEASURED,
    }))
    .where('id', '=', sessionId)
    .where('user_id', '=', viewer.userId)
    .where('status', 'in', ['awaiting_upload', 'invalid'])
    .where(inVisibleSuites('suite_id', viewer.suiteIds))
    .returning(SESSION_COLUMNS)
    .executeTakeFirst();
}

/** What an indexing result sets; everything measured is cleared first by a new attempt. */
const UNMEASURED = {
  format: null,
  size_bytes: null,
  sha256: null,
  canonical_size_bytes: null,
  canonical_sha256: null,
  original_file_name: null,
  event_count: null,
  event_counts: null,
  clock: null,
  first_event_ts: null,
  last_event_ts: null,
  first_event_at: null,
  last_event_at: null,
  screenshot_count: null,
  tab_count: null,
  url_count: null,
  dropped_event_count: null,
  skipped_event_count: null,
  validation_errors: '[]',
  stored_bytes: 0,
  redactions: 0,
  redaction_counts: '{}',
} satisfies Updateable<SessionsTable>;

// ---- The indexer's reads and writes -------------------------------------------------------------------------

export function findSessionForIndexing(db: Db, sessionId: string) {
  return db
    .selectFrom('sessions')
    .select([
      'id',
      'user_id',
      'status',
      'indexed_etag',
      'upload_attempt',
      'upload_file_name',
      'upload_method',
      'requested_format',
      'skip_invalid_lines',
    ])
    .where('id', '=', sessionId)
    .executeTakeFirst();
}

/**
 * Claims the session for indexing one staging blob version: `processing`, with that ETag as the claim. A newer
 * upload's run claims it over an older one (which then stops before writing its result); a session already
 * indexed is not claimed.
 */
export async function claimSessionIndexing(db: Db, sessionId: string, etag: string): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ status: 'processing', indexing_etag: etag })
    .where('id', '=', sessionId)
    .where('status', 'in', ['awaiting_upload', 'processing'])
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function holdsIndexingClaim(db: Db, sessionId: string, etag: string): Promise<boolean> {
  const row = await db.selectFrom('sessions').select('indexing_etag').where('id', '=', sessionId).executeTakeFirst();
  return row?.indexing_etag === etag;
}

/** The columns an indexing result writes. */
export type SessionIndexRecord = Pick<
  Updateable<SessionsTable>,
  | 'status'
  | 'format'
  | 'size_bytes'
  | 'sha256'
  | 'canonical_size_bytes'
  | 'canonical_sha256'
  | 'original_file_name'
  | 'event_count'
  | 'event_counts'
  | 'clock'
  | 'first_event_ts'
  | 'last_event_ts'
  | 'first_event_at'
  | 'last_event_at'
  | 'screenshot_count'
  | 'tab_count'
  | 'url_count'
  | 'dropped_event_count'
  | 'skipped_event_count'
  | 'validation_errors'
  | 'stored_bytes'
  | 'redactions'
  | 'redaction_counts'
> & { status: 'ready' | 'invalid' };

/**
 * Writes the outcome of indexing one staging blob version, unless the session was indexed meanwhile (a second
 * delivery of the same event, racing this one) or, for a claimed run (`claimed`), another run took the claim.
 * Answers the session as written (with its owner, for the event that reports it), or undefined when it did not write.
 */
export async function recordSessionIndex(
  db: Db,
  sessionId: string,
  etag: string,
  record: SessionIndexRecord,
  claimed: boolean,
) {
  let query = db
    .updateTable('sessions')
    .set({ ...UNMEASURED, ...record, indexed_etag: etag, indexing_etag: null })
    .where('id', '=', sessionId)
    .where('status', 'in', ['awaiting_upload', 'processing']);
  if (claimed) query = query.where('indexing_etag', '=', etag);
  return query.returning([...SESSION_COLUMNS, 'sessions.user_id']).executeTakeFirst();
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
export async function findStaleProcessingSessions(db: Db, olderThanMinutes: number, limit: number) {
  return db
    .selectFrom('sessions')
    .select(['id', 'upload_attempt', 'upload_file_name'])
    .where('status', '=', 'processing')
    .where('updated_at', '<', new Date(Date.now() - olderThanMinutes * 60_000))
    .orderBy('updated_at')
    .limit(limit)
    .execute();
}

/** An upload that never completed: `invalid` with that said, and nothing stored, if still processing. */
export async function markUploadAbandoned(db: Db, sessionId: string, message: string) {
  return db
    .updateTable('sessions')
    .set({ ...UNMEASURED, status: 'invalid', indexing_etag: null, validation_errors: JSON.stringify([{ line: 0, message }]) })
    .where('id', '=', sessionId)
    .where('status', '=', 'processing')
    .returning([...SESSION_COLUMNS, 'sessions.user_id'])
    .executeTakeFirst();
}
