import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Database } from '../db/schema.js';
import type { Pagination } from '../validation/pagination.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

/** Kysely<Database> or a transaction of it (Transaction extends Kysely). */
type Db = Kysely<Database>;

/** The columns of a tool, in response order. */
const TOOL_COLUMNS = [
  'tools.id',
  'tools.mcp_server_id',
  'tools.name',
  'tools.description',
  'tools.created_at',
  'tools.updated_at',
] as const;

/** The parameters of the tool in scope, in their declared order, as one JSON array. */
function parametersJson(eb: ExpressionBuilder<Database, 'tools'>) {
  return jsonArrayFrom(
    eb
      .selectFrom('tool_parameters')
      .select([
        'tool_parameters.id',
        'tool_parameters.name',
        'tool_parameters.type',
        'tool_parameters.required',
        'tool_parameters.description',
      ])
      .whereRef('tool_parameters.tool_id', '=', 'tools.id')
      .orderBy('tool_parameters.position')
      .orderBy('tool_parameters.name'),
  ).as('parameters');
}

/** Every tool of the server in scope (by name) with its parameters, as one JSON array: a server read whole. */
export function toolsOfServerJson(eb: ExpressionBuilder<Database, 'mcp_servers'>) {
  return jsonArrayFrom(
    eb
      .selectFrom('tools')
      .select(TOOL_COLUMNS)
      .select(parametersJson)
      .whereRef('tools.mcp_server_id', '=', 'mcp_servers.id')
      .orderBy('tools.name'),
  ).as('tools');
}

export function findTool(db: Db, mcpServerId: string, toolId: string) {
  return db
    .selectFrom('tools')
    .select(TOOL_COLUMNS)
    .select(parametersJson)
    .where('tools.id', '=', toolId)
    .where('tools.mcp_server_id', '=', mcpServerId)
    .executeTakeFirst();
}

export type ToolRow = NonNullable<Awaited<ReturnType<typeof findTool>>>;

export async function listTools(db: Db, mcpServerId: string, pagination: Pagination) {
  const base = db.selectFrom('tools').where('tools.mcp_server_id', '=', mcpServerId);
  return newestFirstPage(base, (query) => query.select(TOOL_COLUMNS).select(parametersJson), pagination, 'tools');
}

/** Every tool of the server by name (the MCP `tools/list` format). */
export function listAllTools(db: Db, mcpServerId: string) {
  return db
    .selectFrom('tools')
    .select(TOOL_COLUMNS)
    .select(parametersJson)
    .where('tools.mcp_server_id', '=', mcpServerId)
    .orderBy('tools.name')
    .execute();
}

/** Locks the tool against concurrent changes for the rest of the transaction (no key update: maps being
 * created, which key-share lock it, need not wait); undefined if there is none. */
export function lockTool(db: Db, mcpServerId: string, toolId: string) {
  return db
    .selectFrom('tools')
    .select('tools.id')
    .where('tools.id', '=', toolId)
    .where('tools.mcp_server_id', '=', mcpServerId)
    .forNoKeyUpdate()
    .executeTakeFirst();
}

export async function insertTool(
  db: Db,
  values: { mcp_server_id: string; name: string; description: string | null },
): Promise<string> {
  const row = await db.insertInto('tools').values(values).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function updateTool(
  db: Db,
  toolId: string,
  changes: { name?: string | undefined; description?: string | null | undefined },
): Promise<void> {
  // Always touches updated_at, so that a PATCH of the parameters alone shows as a change of the tool.
  await db
    .updateTable('tools')
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', toolId)
    .execute();
}

export async function deleteTool(db: Db, mcpServerId: string, toolId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('tools')
    .where('id', '=', toolId)
    .where('mcp_server_id', '=', mcpServerId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
