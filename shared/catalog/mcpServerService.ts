import { isoTimestamp } from './isoTimestamp.js';
import {
  deleteMcpServer as deleteMcpServerRow,
  findMcpServerWithTools,
  insertMcpServer,
  listMcpServers as listMcpServerRows,
  updateMcpServer as updateMcpServerRow,
} from './mcpServerRepository.js';
import type { CreateMcpServerInput, McpServerResponse, UpdateMcpServerInput } from './mcpServerSchemas.js';
import { mcpServerNotFound } from './parentNotFound.js';
import { parentWithChildrenService } from './parentWithChildrenService.js';
import { insertToolWithParameters, toToolResponse } from './toolService.js';

/** MCP servers: the parents of tools. */
export const {
  list: listMcpServers,
  get: getMcpServer,
  create: createMcpServer,
  update: updateMcpServer,
  remove: deleteMcpServer,
} = parentWithChildrenService({
  entity: 'MCP server',
  children: 'tools',
  notFound: mcpServerNotFound,
  toResponse: (row): McpServerResponse => ({
    id: row.id,
    name: row.name,
    description: row.description,
    url: row.url,
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at),
  }),
  find: findMcpServerWithTools,
  list: listMcpServerRows,
  insert: (db, input: CreateMcpServerInput) =>
    insertMcpServer(db, { name: input.name, description: input.description ?? null, url: input.url ?? null }),
  update: (db, id, input: UpdateMcpServerInput) =>
    updateMcpServerRow(db, id, { name: input.name, description: input.description, url: input.url }),
  remove: deleteMcpServerRow,
  childToResponse: toToolResponse,
  insertChild: insertToolWithParameters,
});
