import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import { inVisibleSuites, type Viewer } from '../auth/suiteAccess.js';
import type { Database, ExamplesTable, ExampleStatus, JsonObject } from '../db/schema.js';
import type { ExampleListInput } from './exampleSchemas.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

type Db = Kysely<Database> | Transaction<Database>;

const EXAMPLE_COLUMNS = [
  'id',
  'user_id',
  'session_id',
  'suite_id',
  'model_id',
  'action_tool_map_id',
  'model_configuration',
  'storage_path',
  'status',
  'error',
  'input_tokens',
  'output_tokens',
  'idempotency_fingerprint',
  'created_at',
  'updated_at',
  'completed_at',
  'deleted_at',
] as const;

export async function findModel(db: Db, modelId: string) {
  return db.selectFrom('models').select(['id', 'provider', 'name']).where('id', '=', modelId).executeTakeFirst();
}

export async function findMapsOfSuite(db: Db, suiteId: string, mapId?: string): Promise<string[]> {
  let query = db.selectFrom('action_tool_maps').select('id').where('suite_id', '=', suiteId);
  if (mapId) query = query.where('id', '=', mapId);
  return (await query.orderBy('created_at').limit(2).execute()).map((row) => row.id);
}

export async function findByIdempotencyKey(db: Db, userId: string, key: string) {
  return db
    .selectFrom('examples')
    .select(EXAMPLE_COLUMNS)
    .where('user_id', '=', userId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

/** The example and its job's outbox row, in the caller's transaction. */
export async function insertExampleWithJob(
  trx: Transaction<Database>,
  example: Insertable<ExamplesTable> & { id: string },
  job: JsonObject,
) {
  const row = await trx.insertInto('examples').values(example).returning(EXAMPLE_COLUMNS).executeTakeFirstOrThrow();
  await trx.insertInto('example_job_outbox').values({ example_id: example.id, payload: JSON.stringify(job) }).execute();
  return row;
}

export type ExampleRow = Awaited<ReturnType<typeof insertExampleWithJob>>;

export async function findVisibleExample(db: Db, viewer: Viewer, id: string) {
  return db
    .selectFrom('examples')
    .select(EXAMPLE_COLUMNS)
    .where('id', '=', id)
    .where('user_id', '=', viewer.userId)
    .where(inVisibleSuites('suite_id', viewer.suiteIds))
    .executeTakeFirst();
}

export async function listVisibleExamples(db: Db, viewer: Viewer, filters: ExampleListInput) {
  let query = db
    .selectFrom('examples')
    .where('user_id', '=', viewer.userId)
    .where(inVisibleSuites('suite_id', viewer.suiteIds));
  if (filters.session_id) query = query.where('session_id', '=', filters.session_id);
  if (filters.suite_id) query = query.where('suite_id', '=', filters.suite_id);
  if (filters.model_id) query = query.where('model_id', '=', filters.model_id);
  if (filters.status) query = query.where('status', '=', filters.status);
  if (!filters.include_deleted) query = query.where('deleted_at', 'is', null);
  return newestFirstPage(query, (query) => query.select(EXAMPLE_COLUMNS), filters);
}

/** For the pipelines service, which works on every user's examples. */
export async function findExampleById(db: Db, id: string) {
  return db.selectFrom('examples').select(EXAMPLE_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export interface ExampleTransition {
  from: ExampleStatus[];
  to: ExampleStatus;
  error?: string | null;
  usage?: { input_tokens: number; output_tokens: number };
  /** The digest of the canonical conversation, with COMPLETED. */
  conversationSha256?: string | undefined;
}

/**
 * Moves the example only if it is still in one of the `from` states (a guarded UPDATE, so concurrent reports
 * cannot both win); undefined when it was not.
 */
export async function transitionExample(db: Db, id: string, move: ExampleTransition) {
  const final = move.to === 'COMPLETED' || move.to === 'FAILED';
  return db
    .updateTable('examples')
    .set({
      status: move.to,
      ...(move.error !== undefined ? { error: move.error } : {}),
      ...(move.usage ? { input_tokens: move.usage.input_tokens, output_tokens: move.usage.output_tokens } : {}),
      ...(move.conversationSha256 ? { conversation_sha256: move.conversationSha256 } : {}),
      ...(final ? { completed_at: sql<Date>`now()` } : {}),
    })
    .where('id', '=', id)
    .where('status', 'in', move.from)
    .where('deleted_at', 'is', null)
    .returning(EXAMPLE_COLUMNS)
    .executeTakeFirst();
}

/** Outbox rows that are due, locked for this drainer (SKIP LOCKED: concurrent drainers take different rows). */
export async function claimDueJobs(trx: Transaction<Database>, limit: number) {
  return trx
    .selectFrom('example_job_outbox')
    .select(['example_id', 'payload', 'attempts'])
    .where('next_attempt_at', '<=', sql<Date>`now()`)
    .orderBy('next_attempt_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function deleteOutboxRow(db: Db, exampleId: string): Promise<void> {
  await db.deleteFrom('example_job_outbox').where('example_id', '=', exampleId).execute();
}

/** Backs off exponentially (30 s, 1 min, 2 min... at most 30 min) after a failed enqueue. */
export async function postponeOutboxRow(db: Db, exampleId: string, attempts: number, error: string): Promise<void> {
  const delaySeconds = Math.min(30 * 2 ** attempts, 1800);
  await db
    .updateTable('example_job_outbox')
    .set({
      attempts: attempts + 1,
      last_error: error.slice(0, 1000),
      next_attempt_at: sql<Date>`now() + make_interval(secs => ${delaySeconds})`,
    })
    .where('example_id', '=', exampleId)
    .execute();
}
