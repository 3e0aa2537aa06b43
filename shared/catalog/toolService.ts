import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { mcpServerExists, mcpServerExistsLocked } from './mcpServerRepository.js';
import { toMcpToolList } from './mcpToolsFormat.js';
import { listAllChildren, TOOL_TABLES } from './parameterizedChildRepository.js';
import { mcpServerNotFound } from './parentNotFound.js';
import { parameterizedChildService } from './parameterizedChildService.js';
import { findParameterUses } from './parameterUseRepository.js';
import type { CreateToolInput, McpToolList, ToolResponse, UpdateToolInput } from './toolSchemas.js';

type Db = Kysely<Database>;

/** Tools: the parameterized children of MCP servers. */
const tools = parameterizedChildService<ToolResponse, CreateToolInput, UpdateToolInput>({
  tables: TOOL_TABLES,
  entity: 'tool',
  parentField: 'mcp_server_id',
  parentNotFound: mcpServerNotFound,
  childNotFound: () => ApiError.notFound('No tool with this id in this MCP server.'),
  parentExists: mcpServerExists,
  parentExistsLocked: mcpServerExistsLocked,
  findParameterUses: (db, toolId) => findParameterUses(db, 'tool', toolId),
});

export const {
  toResponse: toToolResponse,
  list: listTools,
  get: getTool,
  insertWithParameters: insertToolWithParameters,
  create: createTool,
  update: updateTool,
  remove: deleteTool,
} = tools;

/** Every tool of the server in the MCP `tools/list` shape. */
export async function listToolsForMcp(db: Db, mcpServerId: string): Promise<McpToolList> {
  const [serverExists, rows] = await Promise.all([
    mcpServerExists(db, mcpServerId),
    listAllChildren(db, TOOL_TABLES, mcpServerId),
  ]);
  if (!serverExists) throw mcpServerNotFound();
  return toMcpToolList(rows.map(toToolResponse));
}
