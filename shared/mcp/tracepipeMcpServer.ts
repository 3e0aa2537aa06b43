import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerCatalogTools } from './catalogTools.js';
import { registerDatasetTools } from './datasetTools.js';
import { registerExampleMessagesResource } from './exampleMessagesResource.js';
import { registerExampleTools } from './exampleTools.js';
import type { McpRequestContext } from './mcpContext.js';
import { registerSessionTools } from './sessionTools.js';
import { registerUsageTools } from './usageTools.js';

export const MCP_SERVER_INFO = { name: 'tracepipe', title: 'Tracepipe', version: '1.0.0' } as const;

const INSTRUCTIONS = `Tracepipe turns recordings of people using web applications into fine-tuning data for AI agents.
The flow: pick a suite (list_suites) -> create_session for it and upload the trace to the returned URL ->
get_session until it is ready -> create_example with a model (list_models) -> get_example until COMPLETED ->
get_example_messages (format raw, or openai, vertex, anthropic, trl for one fine-tuning line). create_dataset
builds many completed examples into one fine-tuning dataset (get_dataset until ready). get_usage shows this
month's usage and cost. Every tool acts as the API key of the request: you see only your own sessions, examples
and datasets. Errors come back as tool results with isError and
structuredContent.error.code (not_found, conflict, validation_error, forbidden, rate_limited, unavailable...).`;

/**
 * One MCP server for one HTTP request (stateless: nothing outlives the request, so any function instance can
 * answer any request). Tools and the resource close over the request's context, which carries the caller.
 */
export function createTracepipeMcpServer(context: McpRequestContext): McpServer {
  const server = new McpServer(MCP_SERVER_INFO, { instructions: INSTRUCTIONS });
  registerCatalogTools(server, context);
  registerSessionTools(server, context);
  registerExampleTools(server, context);
  registerDatasetTools(server, context);
  registerUsageTools(server, context);
  registerExampleMessagesResource(server, context);
  return server;
}
