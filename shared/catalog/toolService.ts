import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../http/pagination.js';
import {
  deleteTool as deleteToolRow,
  deleteToolParameters,
  findTool,
  findToolParameterUses,
  insertTool,
  insertToolParameters,
  listAllTools,
  listTools as listToolRows,
  lockTool,
  lockToolParameters,
  updateTool as updateToolRow,
  updateToolParameter,
  type ToolRow,
} from './toolRepository.js';
import type { CreateToolInput, McpToolList, ToolResponse, UpdateToolInput } from './toolSchemas.js';
import type { ParameterResponse } from './catalogFieldSchemas.js';
import { duplicateParameterError, withCatalogViolations } from './catalogViolations.js';
import { isoTimestamp } from './isoTimestamp.js';
import { mappedParameterConflict, planParameterReplacement } from './parameterReplacement.js';
import { mcpServerExists, mcpServerExistsLocked } from './mcpServerRepository.js';
import { toMcpToolList } from './mcpToolsFormat.js';

type Db = Kysely<Database>;

/** Rows read directly carry Dates; rows nested through jsonArrayFrom carry timestamp strings. */
type ToolLike = Omit<ToolRow, 'created_at' | 'updated_at'> & { created_at: Date | string; updated_at: Date | string };

export function toToolResponse(row: ToolLike): ToolResponse {
  return {
    id: row.id,
    mcp_server_id: row.mcp_server_id,
    name: row.name,
    description: row.description,
    parameters: row.parameters.map(
      (parameter): ParameterResponse => ({
        id: parameter.id,
        name: parameter.name,
        type: parameter.type,
        required: parameter.required,
        description: parameter.description,
      }),
    ),
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at),
  };
}

function mcpServerNotFound(): ApiError {
  return ApiError.notFound('No MCP server with this id.');
}

function toolNotFound(): ApiError {
  return ApiError.notFound('No tool with this id in this MCP server.');
}

export async function listTools(db: Db, mcpServerId: string, pagination: Pagination): Promise<Page<ToolResponse>> {
  const [serverExists, page] = await Promise.all([
    mcpServerExists(db, mcpServerId),
    listToolRows(db, mcpServerId, pagination),
  ]);
  if (!serverExists) throw mcpServerNotFound();
  return toPage(page.rows.map(toToolResponse), page.total, pagination);
}

/** Every tool of the server in the MCP `tools/list` shape. */
export async function listToolsForMcp(db: Db, mcpServerId: string): Promise<McpToolList> {
  const [serverExists, rows] = await Promise.all([
    mcpServerExists(db, mcpServerId),
    listAllTools(db, mcpServerId),
  ]);
  if (!serverExists) throw mcpServerNotFound();
  return toMcpToolList(rows.map(toToolResponse));
}

export async function getTool(db: Db, mcpServerId: string, toolId: string): Promise<ToolResponse> {
  const row = await findTool(db, mcpServerId, toolId);
  if (!row) throw toolNotFound();
  return toToolResponse(row);
}

/**
 * Inserts a tool with its parameters inside the caller's transaction (also used when a server is created with
 * its tools). A duplicate tool name or parameter name fails the whole transaction with a 409.
 */
export async function insertToolWithParameters(trx: Db, mcpServerId: string, input: CreateToolInput): Promise<string> {
  const toolId = await withCatalogViolations({ entity: 'tool', values: { field: 'name', name: input.name } }, () =>
    insertTool(trx, { mcp_server_id: mcpServerId, name: input.name, description: input.description ?? null }),
  );
  await withCatalogViolations({ entity: 'tool', parameterNames: input.parameters.map((p) => p.name) }, () =>
    insertToolParameters(
      trx,
      toolId,
      input.parameters.map((parameter, position) => ({ position, parameter })),
    ),
  );
  return toolId;
}

export async function createTool(db: Db, mcpServerId: string, input: CreateToolInput): Promise<ToolResponse> {
  return db.transaction().execute(async (trx) => {
    if (!(await mcpServerExistsLocked(trx, mcpServerId))) throw mcpServerNotFound();
    const toolId = await insertToolWithParameters(trx, mcpServerId, input);
    return getTool(trx, mcpServerId, toolId);
  });
}

/** Renames and/or replaces the parameter list of a tool, all in one transaction. */
export async function updateTool(
  db: Db,
  mcpServerId: string,
  toolId: string,
  input: UpdateToolInput,
): Promise<ToolResponse> {
  return db.transaction().execute(async (trx) => {
    if (!(await lockTool(trx, mcpServerId, toolId))) throw toolNotFound();
    if (input.parameters) {
      const existing = await lockToolParameters(trx, toolId);
      const uses = await findToolParameterUses(trx, toolId);
      const plan = planParameterReplacement(existing, input.parameters, uses);
      if (plan.duplicateNames.length > 0) throw duplicateParameterError('tool', plan.duplicateNames);
      if (plan.conflicts.length > 0) throw mappedParameterConflict('tool', plan.conflicts);
      await withCatalogViolations({ entity: 'parameter' }, () => deleteToolParameters(trx, plan.deleteIds));
      for (const update of plan.updates) {
        await updateToolParameter(trx, update.id, update.position, update.parameter);
      }
      await insertToolParameters(trx, toolId, plan.inserts);
    }
    // The rename comes last: if the new name is taken, the parameter changes above roll back with it.
    await withCatalogViolations({ entity: 'tool', values: { field: 'name', name: input.name } }, () =>
      updateToolRow(trx, toolId, { name: input.name, description: input.description }),
    );
    return getTool(trx, mcpServerId, toolId);
  });
}

export async function deleteTool(db: Db, mcpServerId: string, toolId: string): Promise<void> {
  const deleted = await withCatalogViolations({ entity: 'tool' }, () => deleteToolRow(db, mcpServerId, toolId));
  if (!deleted) throw toolNotFound();
}
