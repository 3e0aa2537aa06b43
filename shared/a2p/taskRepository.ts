import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { A2pTasksTable, A2pTaskState, Database } from '../db/schema.js';
import { recordTaskPushEvent } from '../webhooks/webhookOutbox.js';

export type TaskRow = Selectable<A2pTasksTable>;

/** A task in one of these states never changes again (A2A: terminal states). */
export const TERMINAL_STATES: readonly A2pTaskState[] = [
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_REJECTED',
];
/** Tasks still waiting on their session or example. */
export const OPEN_STATES: readonly A2pTaskState[] = ['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** A task's row as written whole (the JSON columns as the SDK's own `toJSON` of each part, serialized). */
export type TaskWrite = Insertable<A2pTasksTable>;

/**
 * Inserts or replaces the task, but only the caller's, and never once it is terminal: a late writer (a progress
 * update racing a cancel on another instance) cannot undo a final state. Answers whether the row was written.
 */
export async function upsertTask(db: Kysely<Database>, task: TaskWrite): Promise<boolean> {
  // What a replacing write sets: every column but the key and the owner.
  const { id: _id, user_id: userId, ...values } = task;
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('a2p_tasks')
      .values(task)
      .onConflict((conflict) =>
        conflict
          .column('id')
          .doUpdateSet((eb) => ({ ...values, revision: eb('a2p_tasks.revision', '+', 1) }))
          .where('a2p_tasks.user_id', '=', userId)
          .where('a2p_tasks.state', 'not in', TERMINAL_STATES),
      )
      .returningAll()
      .executeTakeFirst();
    if (row) await recordTaskPushEvent(trx, row.user_id, row.id, taskJson(row));
    return row !== undefined;
  });
}

/** The task as A2A's JSON has it (the columns hold the SDK's own `toJSON` of each part): what a push notification carries. */
export function taskJson(row: TaskRow) {
  return {
    id: row.id,
    contextId: row.context_id,
    status: row.status,
    artifacts: row.artifacts,
    history: row.history,
    ...(row.metadata ? { metadata: row.metadata } : {}),
  };
}

/** What a progress step rewrites of a task (the rest is fixed once the task exists). */
export type TaskChange = Required<
  Pick<Updateable<A2pTasksTable>, 'state' | 'status_timestamp' | 'status' | 'artifacts' | 'history' | 'metadata' | 'example_id'>
>;

/** Writes the change only if the task is still at the revision it was read at; answers the new row, or undefined. */
export async function updateTaskAtRevision(
  db: Kysely<Database>,
  row: TaskRow,
  change: TaskChange,
): Promise<TaskRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const written = await trx
      .updateTable('a2p_tasks')
      .set((eb) => ({ ...change, revision: eb('revision', '+', 1) }))
      .where('id', '=', row.id)
      .where('revision', '=', row.revision)
      .returningAll()
      .executeTakeFirst();
    if (written) await recordTaskPushEvent(trx, written.user_id, written.id, taskJson(written));
    return written;
  });
}

export async function findUserTask(db: Kysely<Database>, userId: string, taskId: string): Promise<TaskRow | undefined> {
  if (!isUuid(taskId)) return undefined;
  return db
    .selectFrom('a2p_tasks')
    .selectAll()
    .where('id', '=', taskId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

/** What a task follows: the session and example of process-trace, the dataset of build-dataset. */
export type TaskLink = { sessionId: string } | { exampleId: string } | { datasetId: string };

export async function findOpenTasksOf(db: Kysely<Database>, link: TaskLink): Promise<TaskRow[]> {
  const query = db.selectFrom('a2p_tasks').selectAll().where('state', 'in', OPEN_STATES);
  if ('sessionId' in link) return query.where('session_id', '=', link.sessionId).execute();
  if ('exampleId' in link) return query.where('example_id', '=', link.exampleId).execute();
  return query.where('dataset_id', '=', link.datasetId).execute();
}

export interface TaskListFilter {
  userId: string;
  contextId?: string;
  state?: A2pTaskState;
  statusAfter?: Date;
  /** Keyset cursor: rows strictly after this (status time, id) in the list's order. */
  after?: { statusTimestamp: Date; id: string };
  limit: number;
}

/** A page of the user's tasks, newest status first (then id), and how many match in all. */
export async function listUserTasks(
  db: Kysely<Database>,
  filter: TaskListFilter,
): Promise<{ rows: TaskRow[]; total: number }> {
  let base = db.selectFrom('a2p_tasks').where('user_id', '=', filter.userId);
  if (filter.contextId !== undefined) base = base.where('context_id', '=', filter.contextId);
  if (filter.state !== undefined) base = base.where('state', '=', filter.state);
  if (filter.statusAfter !== undefined) base = base.where('status_timestamp', '>', filter.statusAfter);
  const counted = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  let page = base.selectAll();
  const after = filter.after;
  if (after) {
    page = page.where((eb) =>
      eb.or([
        eb('status_timestamp', '<', after.statusTimestamp),
        eb.and([eb('status_timestamp', '=', after.statusTimestamp), eb('id', '<', after.id)]),
      ]),
    );
  }
  const rows = await page.orderBy('status_timestamp', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
  return { rows, total: Number(counted.total) };
}
