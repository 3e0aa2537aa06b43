import { ANY_SCOPE } from '../shared/auth/scopes.js';
import { PARAMETER_REPLACEMENT_RULES } from '../shared/catalog/parameterReplacement.js';
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
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';
import { z } from '../shared/openapi/zod.js';

const TOOL = { description: 'The tool.', schema: ToolSchema };

// Catalog reads take any key; writes need catalog:write. Below a server, the server itself may be missing (404).
defineRoute({
  operationId: 'listMcpServerTools',
  method: 'GET',
  path: '/v1/mcp-servers/{mcp_server_id}/tools',
  tags: ['MCP servers'],
  summary: 'List the tools of an MCP server',
  description:
    'The server\'s tools with their parameters, newest first. With `format=mcp`, every tool of the server (by ' +
    'name) in the MCP `tools/list` result shape, `{ "tools": [{ "name", "description", "inputSchema" }] }`, where ' +
    'inputSchema is a JSON Schema object: a property per parameter (STRING -> string, NUMBER -> number, BOOLEAN ' +
    '-> boolean, OBJECT -> object, ARRAY -> array) and the required ones in `required`. Hand it to an agent ' +
    'framework as it is.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  params: ServerToolsParams,
  query: ToolListQuery,
  responses: {
    200: {
      description: 'A page of tools, or with `format=mcp` the MCP tools/list result.',
      schema: z.union([ToolPageSchema, McpToolListSchema]),
    },
  },
  errors: ['not_found'],
  handler: async ({ params, query, deps }) =>
    jsonResponse(
      200,
      query.format === 'mcp'
        ? await listToolsForMcp(deps.db, params.mcp_server_id)
        : await listTools(deps.db, params.mcp_server_id, query),
    ),
});

defineRoute({
  operationId: 'createMcpServerTool',
  method: 'POST',
  path: '/v1/mcp-servers/{mcp_server_id}/tools',
  tags: ['MCP servers'],
  summary: 'Create a tool with its parameters',
  description:
    'Creates a tool of the server together with its typed parameters, in one transaction. The name is unique ' +
    'within the server and parameter names within the tool (409, and nothing is created). Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: ServerToolsParams,
  body: CreateToolBody,
  responses: { 201: { description: 'The tool with its parameters.', schema: ToolSchema } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, body, deps }) => {
    const tool = await createTool(deps.db, params.mcp_server_id, body);
    return jsonResponse(201, tool, { Location: `/v1/mcp-servers/${tool.mcp_server_id}/tools/${tool.id}` });
  },
});

defineRoute({
  operationId: 'getMcpServerTool',
  method: 'GET',
  path: '/v1/mcp-servers/{mcp_server_id}/tools/{id}',
  tags: ['MCP servers'],
  summary: 'Get a tool',
  description: 'The tool with its parameters in declared order. 404 unless it belongs to this server.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  params: ServerToolParams,
  responses: { 200: TOOL },
  errors: ['not_found'],
  handler: async ({ params, deps }) => jsonResponse(200, await getTool(deps.db, params.mcp_server_id, params.id)),
});

defineRoute({
  operationId: 'updateMcpServerTool',
  method: 'PATCH',
  path: '/v1/mcp-servers/{mcp_server_id}/tools/{id}',
  tags: ['MCP servers'],
  summary: 'Rename a tool or replace its parameters',
  description: PARAMETER_REPLACEMENT_RULES,
  auth: 'apiKey',
  scope: 'catalog:write',
  params: ServerToolParams,
  body: UpdateToolBody,
  responses: { 200: TOOL },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, body, deps }) =>
    jsonResponse(200, await updateTool(deps.db, params.mcp_server_id, params.id, body)),
});

defineRoute({
  operationId: 'deleteMcpServerTool',
  method: 'DELETE',
  path: '/v1/mcp-servers/{mcp_server_id}/tools/{id}',
  tags: ['MCP servers'],
  summary: 'Delete a tool',
  description:
    'Deletes the tool with its parameters. 409, deleting nothing, while an action-tool map maps an action onto ' +
    'it. Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: ServerToolParams,
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, deps }) => {
    await deleteTool(deps.db, params.mcp_server_id, params.id);
    return noContent();
  },
});
