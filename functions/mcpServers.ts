import { defineCatalogRoutes } from '../shared/catalog/catalogRoutes.js';
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

const WITH_TOOLS = { description: 'The server with its tools.', schema: McpServerWithToolsSchema };

defineCatalogRoutes({
  tags: ['MCP servers'],
  path: '/v1/mcp-servers',
  itemParams: IdParams,
  list: {
    operationId: 'listMcpServers',
    summary: 'List MCP servers',
    description: 'MCP server definitions, newest first. `name` finds one by name.',
    query: McpServerListQuery,
    response: { description: 'A page of MCP servers.', schema: McpServerPageSchema },
    run: (db, { query }) => listMcpServers(db, query),
  },
  create: {
    operationId: 'createMcpServer',
    summary: 'Create an MCP server',
    description:
      'Creates an MCP server definition, optionally with its tools and their parameters, in one transaction: if ' +
      'anything is refused, nothing is created. Server names are unique case-insensitively (409). Needs ' +
      '`catalog:write`.',
    body: CreateMcpServerBody,
    response: WITH_TOOLS,
    run: (db, { body }) => createMcpServer(db, body),
  },
  get: {
    operationId: 'getMcpServer',
    summary: 'Get an MCP server with its tools',
    description: 'The server with every tool (ordered by name) and each tool\'s parameters (in declared order).',
    response: WITH_TOOLS,
    run: (db, { params }) => getMcpServer(db, params.id),
  },
  update: {
    operationId: 'updateMcpServer',
    summary: 'Rename or describe an MCP server',
    description: 'Changes the name, description and/or URL (null clears them). Needs `catalog:write`.',
    body: UpdateMcpServerBody,
    response: WITH_TOOLS,
    run: (db, { params, body }) => updateMcpServer(db, params.id, body),
  },
  delete: {
    operationId: 'deleteMcpServer',
    summary: 'Delete an MCP server',
    description:
      'Deletes the server with its tools. 409, deleting nothing, while action-tool maps refer to it. Needs ' +
      '`catalog:write`.',
    run: (db, { params }) => deleteMcpServer(db, params.id),
  },
});
