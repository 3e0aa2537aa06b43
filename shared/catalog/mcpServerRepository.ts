import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Pagination } from '../validation/pagination.js';
import { toolsOfServerJson } from './toolRepository.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

type Db = Kysely<Database>;

const MCP_SERVER_COLUMNS = [
  'mcp_servers.id',
  'mcp_servers.name',
  'mcp_servers.description',
  'mcp_servers.url',
  'mcp_servers.created_at',
  'mcp_servers.updated_at',
] as const;

/** The server with every tool (by name) and each tool's parameters, in one round trip. */
export function findMcpServerWithTools(db: Db, mcpServerId: string) {
  return db
    .selectFrom('mcp_servers')
    .select(MCP_SERVER_COLUMNS)
    .select(toolsOfServerJson)
    .where('mcp_servers.id', '=', mcpServerId)
    .executeTakeFirst();
}


export async function listMcpServers(db: Db, filters: { name?: string | undefined }, pagination: Pagination) {
  let base = db.selectFrom('mcp_servers');
  // lower(name) = lower($1) uses the unique index mcp_servers_name_lower_key.
  if (filters.name !== undefined) {
    base = base.where(sql`lower(mcp_servers.name)`, '=', sql`lower(${filters.name})`);
  }
  return newestFirstPage(base, (query) => query.select(MCP_SERVER_COLUMNS), pagination, 'mcp_servers');
}

export async function mcpServerExists(db: Db, mcpServerId: string): Promise<boolean> {
  const row = await db.selectFrom('mcp_servers').select('id').where('id', '=', mcpServerId).executeTakeFirst();
  return row !== undefined;
}

/**
 * Whether the server exists; in a transaction the row is then key-share locked, so that it cannot be deleted
 * before the children written next (whose foreign keys would otherwise fail) are committed.
 */
export async function mcpServerExistsLocked(db: Db, mcpServerId: string): Promise<boolean> {
  const row = await db
    .selectFrom('mcp_servers')
    .select('id')
    .where('id', '=', mcpServerId)
    .forKeyShare()
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertMcpServer(
  db: Db,
  values: { name: string; description: string | null; url: string | null },
): Promise<string> {
  const row = await db.insertInto('mcp_servers').values(values).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function updateMcpServer(
  db: Db,
  mcpServerId: string,
  changes: { name?: string; description?: string | null; url?: string | null },
): Promise<boolean> {
  const result = await db.updateTable('mcp_servers').set(changes).where('id', '=', mcpServerId).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteMcpServer(db: Db, mcpServerId: string): Promise<boolean> {
  const result = await db.deleteFrom('mcp_servers').where('id', '=', mcpServerId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
