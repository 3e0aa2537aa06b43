import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Database } from '../db/schema.js';
import { offsetOf, type Pagination } from '../http/pagination.js';
import type { ParameterInput } from './catalogFieldSchemas.js';
import type { ExistingParameter } from './parameterReplacement.js';

/*
 * Actions (of a suite) and tools (of an MCP server) are stored alike: a child table whose rows belong to a parent,
 * and a table of their ordered, typed parameters. The queries below serve both, given the names of the tables and
 * columns; the parent key is read as `parent_id` so that one row type fits both.
 */

/** Kysely<Database> or a transaction of it (Transaction extends Kysely). */
type Db = Kysely<Database>;

export const ACTION_TABLES = {
  child: 'actions',
  parameters: 'action_parameters',
  childKey: 'action_parameters.action_id',
  parentKey: 'actions.suite_id',
  childColumn: 'action_id',
  parentColumn: 'suite_id',
  parentId: 'suites.id',
} as const;

export const TOOL_TABLES = {
  child: 'tools',
  parameters: 'tool_parameters',
  childKey: 'tool_parameters.tool_id',
  parentKey: 'tools.mcp_server_id',
  childColumn: 'tool_id',
  parentColumn: 'mcp_server_id',
  parentId: 'mcp_servers.id',
} as const;

export type ChildTables = typeof ACTION_TABLES | typeof TOOL_TABLES;
type ChildTable = ChildTables['child'];
type ParentTable = 'suites' | 'mcp_servers';

/** The columns of a child, in response order, with its parent key as `parent_id`. */
export function childColumns(t: ChildTables) {
  return [
    `${t.child}.id`,
    `${t.parentKey} as parent_id`,
    `${t.child}.name`,
    `${t.child}.description`,
    `${t.child}.created_at`,
    `${t.child}.updated_at`,
  ] as const;
}

/** The parameters of the child in scope, in their declared order, as one JSON array. */
export function childParametersJson(t: ChildTables) {
  return (eb: ExpressionBuilder<Database, ChildTable>) =>
    jsonArrayFrom(
      eb
        .selectFrom(t.parameters)
        .select([
          `${t.parameters}.id`,
          `${t.parameters}.name`,
          `${t.parameters}.type`,
          `${t.parameters}.required`,
          `${t.parameters}.description`,
        ])
        .whereRef(t.childKey, '=', `${t.child}.id`)
        .orderBy(`${t.parameters}.position`)
        .orderBy(`${t.parameters}.name`),
    ).as('parameters');
}

/** Every child of the parent in scope (by name) with its parameters, as one JSON array: a parent read whole. */
export function childrenJson<A extends string>(t: ChildTables, as: A) {
  return (eb: ExpressionBuilder<Database, ParentTable>) =>
    jsonArrayFrom(
      eb
        .selectFrom(t.child)
        .select(childColumns(t))
        // Kysely types a callback's scope exactly; the parameters only need the child table, which is in scope.
        .select((inner) => childParametersJson(t)(inner as unknown as ExpressionBuilder<Database, ChildTable>))
        .whereRef(t.parentKey, '=', t.parentId)
        .orderBy(`${t.child}.name`),
    ).as(as);
}

export function findChild(db: Db, t: ChildTables, parentId: string, childId: string) {
  return db
    .selectFrom(t.child)
    .select(childColumns(t))
    .select(childParametersJson(t))
    .where(`${t.child}.id`, '=', childId)
    .where(t.parentKey, '=', parentId)
    .executeTakeFirst();
}

export type ChildRow = NonNullable<Awaited<ReturnType<typeof findChild>>>;

export async function listChildren(db: Db, t: ChildTables, parentId: string, pagination: Pagination) {
  const base = db.selectFrom(t.child).where(t.parentKey, '=', parentId);
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
    base
      .select(childColumns(t))
      .select(childParametersJson(t))
      .orderBy(`${t.child}.created_at`, 'desc')
      .orderBy(`${t.child}.id`, 'desc')
      .limit(pagination.per_page)
      .offset(offsetOf(pagination))
      .execute(),
  ]);
  return { rows, total: Number(count.total) };
}

/** Every child of the parent by name (for the MCP `tools/list` format and the parent read with its children). */
export function listAllChildren(db: Db, t: ChildTables, parentId: string) {
  return db
    .selectFrom(t.child)
    .select(childColumns(t))
    .select(childParametersJson(t))
    .where(t.parentKey, '=', parentId)
    .orderBy(`${t.child}.name`)
    .execute();
}

/** Locks the child against concurrent changes for the rest of the transaction (no key update: maps being
 * created, which key-share lock it, need not wait); undefined if there is none. */
export function lockChild(db: Db, t: ChildTables, parentId: string, childId: string) {
  return db
    .selectFrom(t.child)
    .select(`${t.child}.id`)
    .where(`${t.child}.id`, '=', childId)
    .where(t.parentKey, '=', parentId)
    .forNoKeyUpdate()
    .executeTakeFirst();
}

export async function insertChild(
  db: Db,
  t: ChildTables,
  values: { parent_id: string; name: string; description: string | null },
): Promise<string> {
  const row = await db
    .insertInto(t.child)
    .values({ [t.parentColumn]: values.parent_id, name: values.name, description: values.description })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertChildParameters(
  db: Db,
  t: ChildTables,
  childId: string,
  parameters: Array<{ position: number; parameter: ParameterInput }>,
): Promise<void> {
  if (parameters.length === 0) return;
  await db
    .insertInto(t.parameters)
    .values(
      parameters.map(({ position, parameter }) => ({
        [t.childColumn]: childId,
        name: parameter.name,
        type: parameter.type,
        required: parameter.required,
        description: parameter.description ?? null,
        position,
      })),
    )
    .execute();
}

export async function updateChildParameter(
  db: Db,
  t: ChildTables,
  parameterId: string,
  position: number,
  parameter: ParameterInput,
): Promise<void> {
  await db
    .updateTable(t.parameters)
    .set({
      type: parameter.type,
      required: parameter.required,
      description: parameter.description ?? null,
      position,
    })
    .where('id', '=', parameterId)
    .execute();
}

export async function deleteChildParameters(db: Db, t: ChildTables, parameterIds: string[]): Promise<void> {
  if (parameterIds.length === 0) return;
  await db.deleteFrom(t.parameters).where('id', 'in', parameterIds).execute();
}

/** The child's parameters, locked: a map being created meanwhile waits, then sees the new types. */
export function lockChildParameters(db: Db, t: ChildTables, childId: string): Promise<ExistingParameter[]> {
  return db
    .selectFrom(t.parameters)
    .select([`${t.parameters}.id`, `${t.parameters}.name`])
    .where(t.childKey, '=', childId)
    .forUpdate()
    .execute();
}

export async function updateChild(
  db: Db,
  t: ChildTables,
  childId: string,
  changes: { name?: string; description?: string | null },
): Promise<void> {
  // Always touches updated_at, so that a PATCH of the parameters alone shows as a change of the child.
  await db
    .updateTable(t.child)
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', childId)
    .execute();
}

export async function deleteChild(db: Db, t: ChildTables, parentId: string, childId: string): Promise<boolean> {
  const result = await db
    .deleteFrom(t.child)
    .where(`${t.child}.id`, '=', childId)
    .where(t.parentKey, '=', parentId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
