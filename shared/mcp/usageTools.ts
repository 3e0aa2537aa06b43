import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { UsageQuery } from '../billing/usageSchemas.js';
import { getMonthlyUsage } from '../billing/usageService.js';
import { defineTool, describeFields } from './defineTool.js';
import type { McpRequestContext } from './mcpContext.js';
import { READ_ONLY, toolResult } from './toolResults.js';

/** GET /v1/usage as a tool. */
export function registerUsageTools(server: McpServer, context: McpRequestContext): void {
  defineTool(server, context, {
    name: 'get_usage',
    title: 'Usage and what its invoices will say, for a month',
    description:
      'Your usage in a calendar month (UTC; the current one unless period is given): `{ billing_period: { start, ' +
      'end }, tokens: { total, by_model: { "openai/gpt-4o": n }, billable, not_billable }, storage: { gb_hours, ' +
      'current_gb, billable_gb_hours, not_billable_gb_hours }, sessions_uploaded, examples_generated, billing: { ' +
      'enabled, invoice_periods, carried_in, carried_out }, estimated_cost: { tokens, storage, total, currency } }`. ' +
      'estimated_cost is what the month\'s invoices will say for the billable usage, in minor units (cents for ' +
      'usd); usage before a subscription is not billable. With suite_id, tokens, sessions and examples are that ' +
      'suite\'s; storage is per account. A suite the key may not see: error not_found.',
    input: describeFields(UsageQuery, {
      suite_id: 'Only usage in this suite (tokens, sessions, examples); storage stays per account.',
      period: 'The month, YYYY-MM (default: the current one).',
    }),
    annotations: READ_ONLY,
    run: async (args) => toolResult(await getMonthlyUsage(context.db, context.config, context.auth, args, context.clock())),
  });
}
