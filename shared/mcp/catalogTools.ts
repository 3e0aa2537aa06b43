import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ANY_SCOPE } from '../auth/scopes.js';
import { McpServerListQuery } from '../catalog/mcpServerSchemas.js';
import { getMcpServer, listMcpServers } from '../catalog/mcpServerService.js';
import { ModelListQuery } from '../catalog/modelSchemas.js';
import { listModels } from '../catalog/modelService.js';
import { SuiteListQuery } from '../catalog/suiteSchemas.js';
import { getSuite, listSuites } from '../catalog/suiteService.js';
import { z } from '../openapi/zod.js';
import { defineTool, describeFields, idArgument, PAGE_FIELD_DESCRIPTIONS } from './defineTool.js';
import type { McpRequestContext } from './mcpContext.js';
import { READ_ONLY, toolResult } from './toolResults.js';

/** The catalog reads (GET /v1/suites, /v1/mcp-servers, /v1/models and their items): every key may read them. */
export function registerCatalogTools(server: McpServer, context: McpRequestContext): void {
  const { db } = context;

  defineTool(server, context, {
    name: 'list_suites',
    title: 'List suites',
    description:
      'Lists the suites: the web applications whose use can be recorded (e.g. "Gmail"). A session is always of ' +
      'one suite. Returns `{ items: [{ id, name, description, created_at, updated_at }], total, page, per_page }`, ' +
      'newest first. Use get_suite for a suite\'s actions.',
    input: describeFields(SuiteListQuery, {
      ...PAGE_FIELD_DESCRIPTIONS,
      name: 'Only the suite of this name (compared case-insensitively).',
    }),
    annotations: READ_ONLY,
    scope: ANY_SCOPE,
    run: async (args) => toolResult(await listSuites(db, args)),
  });

  defineTool(server, context, {
    name: 'get_suite',
    title: 'Get a suite with its actions',
    description:
      'One suite with every canonical action (by name) and each action\'s parameters (name, type STRING | NUMBER | ' +
      'BOOLEAN | OBJECT | ARRAY, required), in declared order. Unknown id: error not_found.',
    input: z.object({ suite_id: idArgument('The suite id (from list_suites).') }),
    annotations: READ_ONLY,
    scope: ANY_SCOPE,
    run: async ({ suite_id }) => toolResult(await getSuite(db, suite_id)),
  });

  defineTool(server, context, {
    name: 'list_mcp_servers',
    title: 'List MCP servers',
    description:
      'Lists the MCP server definitions in the catalog: the tool surfaces that a suite\'s actions are mapped onto ' +
      'in training examples. Returns `{ items: [{ id, name, description, url, created_at, updated_at }], total, ' +
      'page, per_page }`. Use get_mcp_server for a server\'s tools.',
    input: describeFields(McpServerListQuery, {
      ...PAGE_FIELD_DESCRIPTIONS,
      name: 'Only the server of this name (compared case-insensitively).',
    }),
    annotations: READ_ONLY,
    scope: ANY_SCOPE,
    run: async (args) => toolResult(await listMcpServers(db, args)),
  });

  defineTool(server, context, {
    name: 'get_mcp_server',
    title: 'Get an MCP server with its tools',
    description:
      'One MCP server definition with every tool (by name) and each tool\'s parameters (name, type, required). ' +
      'Unknown id: error not_found.',
    input: z.object({ mcp_server_id: idArgument('The MCP server id (from list_mcp_servers).') }),
    annotations: READ_ONLY,
    scope: ANY_SCOPE,
    run: async ({ mcp_server_id }) => toolResult(await getMcpServer(db, mcp_server_id)),
  });

  defineTool(server, context, {
    name: 'list_models',
    title: 'List models',
    description:
      'Lists the models that examples can be generated with. Returns `{ items: [{ id, provider, name, ' +
      'display_name, usage_name, created_at }], total, page, per_page }`; `id` is the model_id that create_example ' +
      'takes, `usage_name` (e.g. openai/gpt-4o) is how get_usage names it.',
    input: describeFields(ModelListQuery, {
      ...PAGE_FIELD_DESCRIPTIONS,
      provider: 'Only the models of this provider: OPENAI, ANTHROPIC, VERTEXAI or CUSTOM.',
    }),
    annotations: READ_ONLY,
    scope: ANY_SCOPE,
    run: async (args) => toolResult(await listModels(db, args)),
  });
}
