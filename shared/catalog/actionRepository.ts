import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Database } from '../db/schema.js';
import type { Pagination } from '../validation/pagination.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

/** Kysely<Database> or a transaction of it (Transaction extends Kysely). */
type Db = Kysely<Database>;

/** The columns of an action, in response order. */
const ACTION_COLUMNS = [
  'actions.id',
  'actions.suite_id',
  'actions.name',
  'actions.description',
  'actions.created_at',
  'actions.updated_at',
] as const;

/** The parameters of the action in scope, in their declared order, as one JSON array. */
function parametersJson(eb: ExpressionBuilder<Database, 'actions'>) {
  return jsonArrayFrom(
    eb
      .selectFrom('action_parameters')
      .select([
        'action_parameters.id',
        'action_parameters.name',
        'action_parameters.type',
        'action_parameters.required',
        'action_parameters.description',
      ])
      .whereRef('action_parameters.action_id', '=', 'actions.id')
      .orderBy('action_parameters.position')
      .orderBy('action_parameters.name'),
  ).as('parameters');
}

/** Every action of the suite in scope (by name) with its parameters, as one JSON array: a suite read whole. */
export function actionsOfSuiteJson(eb: ExpressionBuilder<Database, 'suites'>) {
  return jsonArrayFrom(
    eb
      .selectFrom('actions')
      .select(ACTION_COLUMNS)
      .select(parametersJson)
      .whereRef('actions.suite_id', '=', 'suites.id')
      .orderBy('actions.name'),
  ).as('actions');
}

export function findAction(db: Db, suiteId: string, actionId: string) {
  return db
    .selectFrom('actions')
    .select(ACTION_COLUMNS)
    .select(parametersJson)
    .where('actions.id', '=', actionId)
    .where('actions.suite_id', '=', suiteId)
    .executeTakeFirst();
}

export type ActionRow = NonNullable<Awaited<ReturnType<typeof findAction>>>;

export async function listActions(db: Db, suiteId: string, pagination: Pagination) {
  const base = db.selectFrom('actions').where('actions.suite_id', '=', suiteId);
  return newestFirstPage(base, (query) => query.select(ACTION_COLUMNS).select(parametersJson), pagination, 'actions');
}

/** Locks the action against concurrent changes for the rest of the transaction (no key update: maps being
 * created, which key-share lock it, need not wait); undefined if there is none. */
export function lockAction(db: Db, suiteId: string, actionId: string) {
  return db
    .selectFrom('actions')
    .select('actions.id')
    .where('actions.id', '=', actionId)
    .where('actions.suite_id', '=', suiteId)
    .forNoKeyUpdate()
    .executeTakeFirst();
}

export async function insertAction(
  db: Db,
  values: { suite_id: string; name: string; description: string | null },
): Promise<string> {
  const row = await db.insertInto('actions').values(values).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function updateAction(
  db: Db,
  actionId: string,
  changes: { name?: string | undefined; description?: string | null | undefined },
): Promise<void> {
  // Always touches updated_at, so that a PATCH of the parameters alone shows as a change of the action.
  await db
    .updateTable('actions')
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', actionId)
    .execute();
}

export async function deleteAction(db: Db, suiteId: string, actionId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('actions')
    .where('id', '=', actionId)
    .where('suite_id', '=', suiteId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
