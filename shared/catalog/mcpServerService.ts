import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { toPage, type Page } from '../validation/pagination.js';
import { insertToolWithParameters, toToolResponse } from './toolService.js';
import { isoTimestamp } from './isoTimestamp.js';
import { mcpServerNotFound, withCatalogViolations } from './catalogViolations.js';
import type {
  CreateMcpServerInput,
  McpServerListFilters,
  McpServerResponse,
  McpServerWithToolsResponse,
  UpdateMcpServerInput,
} from './mcpServerSchemas.js';
import {
  deleteMcpServer as deleteMcpServerRow,
  findMcpServerWithTools,
  insertMcpServer,
  listMcpServers as listMcpServerRows,
  updateMcpServer as updateMcpServerRow,
} from './mcpServerRepository.js';

/* MCP servers: the tool surfaces that actions are mapped onto, each with its tools. */

type Db = Kysely<Database>;

function toMcpServerResponse(row: {
  id: string;
  name: string;
  description: string | null;
  url: string | null;
  created_at: Date;
  updated_at: Date;
}): McpServerResponse {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    url: row.url,
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at),
  };
}

export async function listMcpServers(db: Db, filters: McpServerListFilters): Promise<Page<McpServerResponse>> {
  const page = await listMcpServerRows(db, { name: filters.name }, filters);
  return toPage(page.rows.map(toMcpServerResponse), page.total, filters);
}

export async function getMcpServer(db: Db, mcpServerId: string): Promise<McpServerWithToolsResponse> {
  const row = await findMcpServerWithTools(db, mcpServerId);
  if (!row) throw mcpServerNotFound();
  return { ...toMcpServerResponse(row), tools: row.tools.map(toToolResponse) };
}

/** Creates the server and the tools given with it, in one transaction: all of it or nothing. */
export async function createMcpServer(db: Db, input: CreateMcpServerInput): Promise<McpServerWithToolsResponse> {
  return db.transaction().execute(async (trx) => {
    const mcpServerId = await withCatalogViolations({ entity: 'MCP server', values: { field: 'name', name: input.name } }, () =>
      insertMcpServer(trx, { name: input.name, description: input.description ?? null, url: input.url ?? null }),
    );
    for (const tool of input.tools) await insertToolWithParameters(trx, mcpServerId, tool);
    return getMcpServer(trx, mcpServerId);
  });
}

export async function updateMcpServer(db: Db, mcpServerId: string, input: UpdateMcpServerInput): Promise<McpServerWithToolsResponse> {
  const updated = await withCatalogViolations({ entity: 'MCP server', values: { field: 'name', name: input.name } }, () =>
    updateMcpServerRow(db, mcpServerId, { name: input.name, description: input.description, url: input.url }),
  );
  if (!updated) throw mcpServerNotFound();
  return getMcpServer(db, mcpServerId);
}

/**
 * Deletes the server with its tools. What refers to it without cascading (action-tool maps) makes the one DELETE statement fail (23503) and nothing is deleted: 409.
 */
export async function deleteMcpServer(db: Db, mcpServerId: string): Promise<void> {
  const deleted = await withCatalogViolations({ entity: 'MCP server' }, () => deleteMcpServerRow(db, mcpServerId));
  if (!deleted) throw mcpServerNotFound();
}
