import { defineCatalogRoutes, CHILD_UPDATE_DESCRIPTION } from '../shared/catalog/catalogRoutes.js';
import { z } from '../shared/openapi/zod.js';
import {
  CreateToolBody,
  McpToolListSchema,
  ServerToolParams,
  ServerToolsParams,
  ToolListQuery,
  ToolPageSchema,
  ToolSchema,
  UpdateToolBody,
} from '../shared/catalog/toolSchemas.js';
import {
  createTool,
  deleteTool,
  getTool,
  listTools,
  listToolsForMcp,
  updateTool,
} from '../shared/catalog/toolService.js';

const TOOL = { description: 'The tool.', schema: ToolSchema };

defineCatalogRoutes({
  tags: ['MCP servers'],
  path: '/v1/mcp-servers/{mcp_server_id}/tools',
  collectionParams: ServerToolsParams,
  itemParams: ServerToolParams,
  list: {
    operationId: 'listMcpServerTools',
    summary: 'List the tools of an MCP server',
    description:
      'The server\'s tools with their parameters, newest first. With `format=mcp`, every tool of the server (by ' +
      'name) in the MCP `tools/list` result shape, `{ "tools": [{ "name", "description", "inputSchema" }] }`, where ' +
      'inputSchema is a JSON Schema object: a property per parameter (STRING -> string, NUMBER -> number, BOOLEAN ' +
      '-> boolean, OBJECT -> object, ARRAY -> array) and the required ones in `required`. Hand it to an agent ' +
      'framework as it is.',
    query: ToolListQuery,
    response: {
      description: 'A page of tools, or with `format=mcp` the MCP tools/list result.',
      schema: z.union([ToolPageSchema, McpToolListSchema]),
    },
    run: (db, { params, query }) =>
      query.format === 'mcp' ? listToolsForMcp(db, params.mcp_server_id) : listTools(db, params.mcp_server_id, query),
  },
  create: {
    operationId: 'createMcpServerTool',
    summary: 'Create a tool with its parameters',
    description:
      'Creates a tool of the server together with its typed parameters, in one transaction. The name is unique ' +
      'within the server and parameter names within the tool (409, and nothing is created). Needs `catalog:write`.',
    body: CreateToolBody,
    response: { description: 'The tool with its parameters.', schema: ToolSchema },
    run: (db, { params, body }) => createTool(db, params.mcp_server_id, body),
  },
  get: {
    operationId: 'getMcpServerTool',
    summary: 'Get a tool',
    description: 'The tool with its parameters in declared order. 404 unless it belongs to this server.',
    response: TOOL,
    run: (db, { params }) => getTool(db, params.mcp_server_id, params.id),
  },
  update: {
    operationId: 'updateMcpServerTool',
    summary: 'Rename a tool or replace its parameters',
    description: CHILD_UPDATE_DESCRIPTION,
    body: UpdateToolBody,
    response: TOOL,
    run: (db, { params, body }) => updateTool(db, params.mcp_server_id, params.id, body),
  },
  delete: {
    operationId: 'deleteMcpServerTool',
    summary: 'Delete a tool',
    description:
      'Deletes the tool with its parameters. 409, deleting nothing, while an action-tool map maps an action onto ' +
      'it. Needs `catalog:write`.',
    run: (db, { params }) => deleteTool(db, params.mcp_server_id, params.id),
  },
});
