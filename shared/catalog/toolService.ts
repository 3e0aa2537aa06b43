import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../validation/pagination.js';
import {
  deleteTool as deleteToolRow,
  findTool,
  insertTool,
  listAllTools,
  listTools as listToolRows,
  lockTool,
  updateTool as updateToolRow,
  type ToolRow,
} from './toolRepository.js';
import type { CreateToolInput, McpToolList, ToolResponse, UpdateToolInput } from './toolSchemas.js';
import { mcpServerNotFound, withCatalogViolations } from './catalogViolations.js';
import { isoTimestamp } from './isoTimestamp.js';
import { toMcpToolList } from './mcpToolsFormat.js';
import { insertParameters } from './parameterRepository.js';
import { replaceParameters } from './parameterReplacement.js';
import { mcpServerExists } from './mcpServerRepository.js';

/* Tools: the tools of an MCP server, each with an ordered list of typed parameters. */

type Db = Kysely<Database>;

/** Rows read directly carry Dates; rows nested in a server's JSON (mcpServerRepository) carry timestamp strings. */
export type ToolRowLike = Omit<ToolRow, 'created_at' | 'updated_at'> & {
  created_at: Date | string;
  updated_at: Date | string;
};

function toolNotFound(): ApiError {
  return ApiError.notFound('No tool with this id in this MCP server.');
}

export function toToolResponse(row: ToolRowLike): ToolResponse {
  return {
    id: row.id,
    mcp_server_id: row.mcp_server_id,
    name: row.name,
    description: row.description,
    parameters: row.parameters.map((parameter) => ({
      id: parameter.id,
      name: parameter.name,
      type: parameter.type,
      required: parameter.required,
      description: parameter.description,
    })),
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at),
  };
}

export async function listTools(db: Db, mcpServerId: string, pagination: Pagination): Promise<Page<ToolResponse>> {
  const [exists, page] = await Promise.all([mcpServerExists(db, mcpServerId), listToolRows(db, mcpServerId, pagination)]);
  if (!exists) throw mcpServerNotFound();
  return toPage(page.rows.map(toToolResponse), page.total, pagination);
}

export async function getTool(db: Db, mcpServerId: string, toolId: string): Promise<ToolResponse> {
  const row = await findTool(db, mcpServerId, toolId);
  if (!row) throw toolNotFound();
  return toToolResponse(row);
}

/**
 * Inserts a tool with its parameters inside the caller's transaction (also used when a server is created with
 * its tools). A duplicate tool name or parameter name fails the whole transaction with a 409; a server that
 * does not exist fails the insert's foreign key, a 404 (catalogViolations.ts).
 */
export async function insertToolWithParameters(trx: Db, mcpServerId: string, input: CreateToolInput): Promise<string> {
  const toolId = await withCatalogViolations({ entity: 'tool', values: { field: 'name', name: input.name } }, () =>
    insertTool(trx, { mcp_server_id: mcpServerId, name: input.name, description: input.description ?? null }),
  );
  await withCatalogViolations({ entity: 'tool', parameterNames: input.parameters.map((p) => p.name) }, () =>
    insertParameters(
      trx,
      'tool',
      toolId,
      input.parameters.map((parameter, position) => ({ position, parameter })),
    ),
  );
  return toolId;
}

/** POST /v1/mcp-servers/{mcp_server_id}/tools: the tool and its parameters in one transaction. */
export async function createTool(db: Db, mcpServerId: string, input: CreateToolInput): Promise<ToolResponse> {
  return db.transaction().execute(async (trx) => {
    const toolId = await insertToolWithParameters(trx, mcpServerId, input);
    return getTool(trx, mcpServerId, toolId);
  });
}

/** Renames a tool and/or replaces its parameter list (parameterReplacement.ts), all in one transaction. */
export async function updateTool(
  db: Db,
  mcpServerId: string,
  toolId: string,
  input: UpdateToolInput,
): Promise<ToolResponse> {
  return db.transaction().execute(async (trx) => {
    if (!(await lockTool(trx, mcpServerId, toolId))) throw toolNotFound();
    if (input.parameters) await replaceParameters(trx, 'tool', toolId, input.parameters);
    // The rename comes last: if the new name is taken, the parameter changes above roll back with it.
    await withCatalogViolations({ entity: 'tool', values: { field: 'name', name: input.name } }, () =>
      updateToolRow(trx, toolId, { name: input.name, description: input.description }),
    );
    return getTool(trx, mcpServerId, toolId);
  });
}

/** Deletes the tool with its parameters; 409, deleting nothing, while an action-tool map maps an action onto it. */
export async function deleteTool(db: Db, mcpServerId: string, toolId: string): Promise<void> {
  const deleted = await withCatalogViolations({ entity: 'tool' }, () => deleteToolRow(db, mcpServerId, toolId));
  if (!deleted) throw toolNotFound();
}

/** Every tool of the server in the MCP `tools/list` shape. */
export async function listToolsForMcp(db: Db, mcpServerId: string): Promise<McpToolList> {
  const [serverExists, rows] = await Promise.all([mcpServerExists(db, mcpServerId), listAllTools(db, mcpServerId)]);
  if (!serverExists) throw mcpServerNotFound();
  return toMcpToolList(rows.map(toToolResponse));
}
