import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { UsageQuery, UsageSchema } from '../shared/billing/usageSchemas.js';
import { getMonthlyUsage } from '../shared/billing/usageService.js';

defineRoute({
  operationId: 'getUsage',
  method: 'GET',
  path: '/v1/usage',
  tags: ['Billing'],
  summary: 'Usage and what its invoices will say, for a month',
  description:
    'A calendar month in UTC (`period=YYYY-MM`, the current one by default): tokens by model (`provider/name`, ' +
    'lower case), storage in GB-hours (hourly samples of what was stored, plus the same for the hours not sampled ' +
    'yet) and GB stored now, sessions uploaded, examples completed; and what is billed: `billable` and ' +
    '`not_billable` apart (usage before the first subscription, or between two, is not billed; usage Stripe ' +
    'refused for good is not billed until resent), the invoice periods of the month (subscriptions are anchored ' +
    'to the 1st, 00:00 UTC; the first period runs from the first card to the next 1st), and usage carried in from ' +
    'an earlier month (it reached Stripe after that month was invoiced) or out to a later one. `estimated_cost` is ' +
    'what the month\'s invoices will say for the same usage: per invoice period, each meter\'s quantity (tokens; ' +
    'storage in KB-hours, rounded hour by hour) times the subscription\'s price, rounded half up to a minor unit ' +
    '(cents for usd) per line. Without billing, what the usage would cost at the configured prices. With ' +
    '`suite_id`, tokens, sessions and examples are that suite\'s; storage is per account. A key limited to some ' +
    'suites sees those suites only; any other `suite_id` is 404.',
  auth: 'apiKey',
  query: UsageQuery,
  responses: { 200: { description: 'The month\'s usage.', schema: UsageSchema } },
  errors: ['not_found'],
  handler: async ({ auth, query, deps }) => jsonResponse(200, await getMonthlyUsage(deps.db, deps.config, auth, query, deps.clock())),
});
