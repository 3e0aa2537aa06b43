import { ANY_SCOPE } from '../shared/auth/scopes.js';
import { IdParams } from '../shared/catalog/catalogFieldSchemas.js';
import {
  CreateMcpServerBody,
  McpServerListQuery,
  McpServerPageSchema,
  McpServerWithToolsSchema,
  UpdateMcpServerBody,
} from '../shared/catalog/mcpServerSchemas.js';
import {
  createMcpServer,
  deleteMcpServer,
  getMcpServer,
  listMcpServers,
  updateMcpServer,
} from '../shared/catalog/mcpServerService.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';

const WITH_TOOLS = { description: 'The server with its tools.', schema: McpServerWithToolsSchema };

// Catalog reads take any key; writes need catalog:write.
defineRoute({
  operationId: 'listMcpServers',
  method: 'GET',
  path: '/v1/mcp-servers',
  tags: ['MCP servers'],
  summary: 'List MCP servers',
  description: 'MCP server definitions, newest first. `name` finds one by name.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  query: McpServerListQuery,
  responses: { 200: { description: 'A page of MCP servers.', schema: McpServerPageSchema } },
  handler: async ({ query, deps }) => jsonResponse(200, await listMcpServers(deps.db, query)),
});

defineRoute({
  operationId: 'createMcpServer',
  method: 'POST',
  path: '/v1/mcp-servers',
  tags: ['MCP servers'],
  summary: 'Create an MCP server',
  description:
    'Creates an MCP server definition, optionally with its tools and their parameters, in one transaction: if ' +
    'anything is refused, nothing is created. Server names are unique case-insensitively (409). Needs ' +
    '`catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  body: CreateMcpServerBody,
  responses: { 201: WITH_TOOLS },
  errors: ['conflict'],
  handler: async ({ body, deps }) => {
    const server = await createMcpServer(deps.db, body);
    return jsonResponse(201, server, { Location: `/v1/mcp-servers/${server.id}` });
  },
});

defineRoute({
  operationId: 'getMcpServer',
  method: 'GET',
  path: '/v1/mcp-servers/{id}',
  tags: ['MCP servers'],
  summary: 'Get an MCP server with its tools',
  description: 'The server with every tool (ordered by name) and each tool\'s parameters (in declared order).',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  params: IdParams,
  responses: { 200: WITH_TOOLS },
  errors: ['not_found'],
  handler: async ({ params, deps }) => jsonResponse(200, await getMcpServer(deps.db, params.id)),
});

defineRoute({
  operationId: 'updateMcpServer',
  method: 'PATCH',
  path: '/v1/mcp-servers/{id}',
  tags: ['MCP servers'],
  summary: 'Rename or describe an MCP server',
  description: 'Changes the name, description and/or URL (null clears them). Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: IdParams,
  body: UpdateMcpServerBody,
  responses: { 200: WITH_TOOLS },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, body, deps }) => jsonResponse(200, await updateMcpServer(deps.db, params.id, body)),
});

defineRoute({
  operationId: 'deleteMcpServer',
  method: 'DELETE',
  path: '/v1/mcp-servers/{id}',
  tags: ['MCP servers'],
  summary: 'Delete an MCP server',
  description:
    'Deletes the server with its tools. 409, deleting nothing, while action-tool maps refer to it. Needs ' +
    '`catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: IdParams,
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, deps }) => {
    await deleteMcpServer(deps.db, params.id);
    return noContent();
  },
});
