import { sql, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import { inVisibleSuites } from '../auth/suiteAccess.js';
import type { Database, DatasetsTable, DatasetStatus } from '../db/schema.js';
import { type Pagination } from '../validation/pagination.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

type Db = Kysely<Database>;

export type DatasetRow = Selectable<DatasetsTable>;

export async function insertDataset(db: Db, values: Insertable<DatasetsTable>): Promise<DatasetRow> {
  return db.insertInto('datasets').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function countBuildsInProgress(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('datasets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .where('status', '=', 'building')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findUserDataset(db: Db, userId: string, id: string): Promise<DatasetRow | undefined> {
  return db.selectFrom('datasets').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
}

export async function findDatasetById(db: Db, id: string): Promise<DatasetRow | undefined> {
  return db.selectFrom('datasets').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listUserDatasets(
  db: Db,
  userId: string,
  filters: Pagination & { status?: DatasetStatus | undefined },
): Promise<{ rows: DatasetRow[]; total: number }> {
  let query = db.selectFrom('datasets').where('user_id', '=', userId);
  if (filters.status) query = query.where('status', '=', filters.status);
  return newestFirstPage(query, (query) => query.selectAll(), filters);
}

export async function deleteUserDataset(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('datasets').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * The dataset's owner's COMPLETED examples that its filters (and the creating key's suite restriction) select.
 * Everything is a condition on the examples row itself (owner, suite and session are denormalized there).
 */
function matchingExamples(db: Db, dataset: DatasetRow) {
  let query = db.selectFrom('examples').where('user_id', '=', dataset.user_id).where('status', '=', 'COMPLETED');
  query = query.where(inVisibleSuites('suite_id', dataset.allowed_suite_ids));
  if (dataset.suite_id) query = query.where('suite_id', '=', dataset.suite_id);
  if (dataset.session_ids) query = query.where('session_id', '=', sql<string>`any(${dataset.session_ids}::uuid[])`);
  if (dataset.model_id) query = query.where('model_id', '=', dataset.model_id);
  if (dataset.created_after) query = query.where('created_at', '>=', dataset.created_after);
  if (dataset.created_before) query = query.where('created_at', '<', dataset.created_before);
  return query;
}

/** Matching examples completed before digests existed (to be digested first), by id after `afterId`. */
export async function findUndigestedExamples(db: Db, dataset: DatasetRow, afterId: string | null, limit: number): Promise<string[]> {
  let query = matchingExamples(db, dataset).select('id').where('conversation_sha256', 'is', null);
  if (afterId) query = query.where('id', '>', afterId);
  return (await query.orderBy('id').limit(limit).execute()).map((row) => row.id);
}

export async function setConversationDigest(db: Db, exampleId: string, sha256: string): Promise<void> {
  await db.updateTable('examples').set({ conversation_sha256: sha256 }).where('id', '=', exampleId).execute();
}

/**
 * Writes the build's work list in one statement, inside PostgreSQL: the matching examples, one per normalized
 * conversation when deduplicating (the earliest created), ordered by md5(seed:id) (a shuffle that the same seed
 * repeats), the first round(n * validation_split) of them for validation. Answers how many matched and how many
 * were listed.
 */
export async function writeWorkList(db: Db, dataset: DatasetRow): Promise<{ matched: number; listed: number }> {
  const matching = matchingExamples(db, dataset).select(['id', 'conversation_sha256', 'created_at']);
  const kept = dataset.dedupe
    ? sql`select distinct on (coalesce(conversation_sha256, id::text)) id from matching
          order by coalesce(conversation_sha256, id::text), created_at, id`
    : sql`select id from matching`;
  const { rows } = await sql<{ matched: number; listed: number }>`
    with matching as (${matching}),
    kept as (${kept}),
    ranked as (
      select id,
        row_number() over (order by md5(${String(dataset.seed)}::text || ':' || id::text), id) as position,
        count(*) over () as total
      from kept
    ),
    listed as (
      insert into dataset_examples (dataset_id, position, example_id, split)
      select ${dataset.id}::uuid, position, id,
        case when position <= round((total * ${dataset.validation_split}::double precision)::numeric) then 'validation' else 'train' end
      from ranked
      returning 1
    )
    select (select count(*) from matching)::int as matched, (select count(*) from listed)::int as listed`.execute(db);
  return rows[0] ?? { matched: 0, listed: 0 };
}

export async function clearWorkList(db: Db, datasetId: string): Promise<void> {
  await db.deleteFrom('dataset_examples').where('dataset_id', '=', datasetId).execute();
}

export interface WorkItem {
  position: number;
  example_id: string;
  split: 'train' | 'validation';
  action_tool_map_id: string;
}

/** The next page of the work list, after `afterPosition` (examples deleted since have left it by cascade). */
export async function readWorkList(db: Db, datasetId: string, afterPosition: number, limit: number): Promise<WorkItem[]> {
  return db
    .selectFrom('dataset_examples as de')
    .innerJoin('examples as e', 'e.id', 'de.example_id')
    .select(['de.position', 'de.example_id', 'de.split', 'e.action_tool_map_id'])
    .where('de.dataset_id', '=', datasetId)
    .where('de.position', '>', afterPosition)
    .orderBy('de.position')
    .limit(limit)
    .execute();
}

/**
 * Takes the build: one builder at a time, by lease. It succeeds on a building dataset that nobody has touched
 * for `leaseSeconds`, and answers the attempt number, which every later write of this build must present.
 */
export async function claimBuild(db: Db, datasetId: string, leaseSeconds: number): Promise<number | undefined> {
  const row = await db
    .updateTable('datasets')
    .set((eb) => ({ build_attempts: eb('build_attempts', '+', 1), heartbeat_at: sql<Date>`now()` }))
    .where('id', '=', datasetId)
    .where('status', '=', 'building')
    .where((eb) =>
      eb.or([
        eb('heartbeat_at', 'is', null),
        eb('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${leaseSeconds})`),
      ]),
    )
    .returning('build_attempts')
    .executeTakeFirst();
  return row?.build_attempts;
}

/** Renews the lease; false when the build is no longer this attempt's (deleted, or taken over). */
export async function renewBuild(db: Db, datasetId: string, attempt: number): Promise<boolean> {
  const result = await db
    .updateTable('datasets')
    .set({ heartbeat_at: sql<Date>`now()` })
    .where('id', '=', datasetId)
    .where('status', '=', 'building')
    .where('build_attempts', '=', attempt)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Ends this attempt's build (ready or failed); undefined when it is no longer this attempt's. */
export async function finishBuild(
  db: Db,
  datasetId: string,
  attempt: number,
  outcome: Updateable<DatasetsTable> & { status: 'ready' | 'failed' },
): Promise<DatasetRow | undefined> {
  return db
    .updateTable('datasets')
    .set({ ...outcome, heartbeat_at: null, completed_at: sql<Date>`now()` })
    .where('id', '=', datasetId)
    .where('status', '=', 'building')
    .where('build_attempts', '=', attempt)
    .returningAll()
    .executeTakeFirst();
}

/** Building datasets whose builder went quiet for `quietSeconds` (or never started): to be sent to a builder again. */
export async function findStalledBuilds(db: Db, quietSeconds: number, limit: number) {
  return db
    .selectFrom('datasets')
    .select(['id', 'build_attempts'])
    .where('status', '=', 'building')
    .where(sql<boolean>`coalesce(heartbeat_at, created_at) < now() - make_interval(secs => ${quietSeconds})`)
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/** Fails a building dataset that no builder could finish (whatever attempt holds it): the row, or undefined. */
export async function failStalledBuild(db: Db, datasetId: string, attempts: number, error: string): Promise<DatasetRow | undefined> {
  return db
    .updateTable('datasets')
    .set({ status: 'failed', error, heartbeat_at: null, completed_at: sql<Date>`now()` })
    .where('id', '=', datasetId)
    .where('status', '=', 'building')
    .where('build_attempts', '=', attempts)
    .returningAll()
    .executeTakeFirst();
}
