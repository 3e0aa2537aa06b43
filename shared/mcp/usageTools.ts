import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { UsageQuery } from '../billing/usageSchemas.js';
import { getMonthlyUsage } from '../billing/usageService.js';
import { getConfig } from '../config.js';
import { defineTool, describeFields } from './defineTool.js';
import type { McpRequestContext } from './mcpContext.js';
import { READ_ONLY, toolResult } from './toolResults.js';

/** GET /v1/usage as a tool. */
export function registerUsageTools(server: McpServer, context: McpRequestContext): void {
  defineTool(server, context, {
    name: 'get_usage',
    title: 'Usage and estimated cost this month',
    description:
      'Your usage in the current calendar month (UTC): `{ billing_period: { start, end }, tokens: { total, ' +
      'by_model: { "openai/gpt-4o": n } }, storage: { gb_hours, current_gb }, sessions_uploaded, ' +
      'examples_generated, estimated_cost: { tokens, storage, total, currency } }`, costs in minor units (cents ' +
      'for usd). With suite_id, tokens, sessions and examples are that suite\'s; storage is per account. A suite ' +
      'the key may not see: error not_found.',
    input: describeFields(UsageQuery, {
      suite_id: 'Only usage in this suite (tokens, sessions, examples); storage stays per account.',
    }),
    annotations: READ_ONLY,
    run: async (args) => toolResult(await getMonthlyUsage(context.db, getConfig(), context.auth, args)),
  });
}
