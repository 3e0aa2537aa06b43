import { getDb } from '../shared/db/index.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';
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

const TAGS = ['MCP servers'];

defineRoute({
  operationId: 'listMcpServers',
  method: 'GET',
  path: '/v1/mcp-servers',
  tags: TAGS,
  summary: 'List MCP servers',
  description: 'MCP server definitions, newest first. `name` finds one by name.',
  auth: 'apiKey',
  query: McpServerListQuery,
  responses: { 200: { description: 'A page of MCP servers.', schema: McpServerPageSchema } },
  handler: async ({ query }) => jsonResponse(200, await listMcpServers(getDb(), query)),
});

defineRoute({
  operationId: 'createMcpServer',
  method: 'POST',
  path: '/v1/mcp-servers',
  tags: TAGS,
  summary: 'Create an MCP server',
  description:
    'Creates an MCP server definition, optionally with its tools and their parameters, in one transaction: if ' +
    'anything is refused, nothing is created. Server names are unique case-insensitively (409). Needs ' +
    '`catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  body: CreateMcpServerBody,
  responses: { 201: { description: 'The server with its tools.', schema: McpServerWithToolsSchema } },
  errors: ['conflict'],
  handler: async ({ body }) => {
    const server = await createMcpServer(getDb(), body);
    return jsonResponse(201, server, { Location: `/v1/mcp-servers/${server.id}` });
  },
});

defineRoute({
  operationId: 'getMcpServer',
  method: 'GET',
  path: '/v1/mcp-servers/{id}',
  tags: TAGS,
  summary: 'Get an MCP server with its tools',
  description: 'The server with every tool (ordered by name) and each tool\'s parameters (in declared order).',
  auth: 'apiKey',
  params: IdParams,
  responses: { 200: { description: 'The server with its tools.', schema: McpServerWithToolsSchema } },
  errors: ['not_found'],
  handler: async ({ params }) => jsonResponse(200, await getMcpServer(getDb(), params.id)),
});

defineRoute({
  operationId: 'updateMcpServer',
  method: 'PATCH',
  path: '/v1/mcp-servers/{id}',
  tags: TAGS,
  summary: 'Rename or describe an MCP server',
  description: 'Changes the name, description and/or URL (null clears them). Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: IdParams,
  body: UpdateMcpServerBody,
  responses: { 200: { description: 'The server with its tools.', schema: McpServerWithToolsSchema } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, body }) => jsonResponse(200, await updateMcpServer(getDb(), params.id, body)),
});

defineRoute({
  operationId: 'deleteMcpServer',
  method: 'DELETE',
  path: '/v1/mcp-servers/{id}',
  tags: TAGS,
  summary: 'Delete an MCP server',
  description:
    'Deletes the server with its tools. 409, deleting nothing, while action-tool maps refer to it. Needs ' +
    '`catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: IdParams,
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params }) => {
    await deleteMcpServer(getDb(), params.id);
    return noContent();
  },
});
