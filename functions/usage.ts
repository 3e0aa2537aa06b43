import { getConfig } from '../shared/config.js';
import { getDb } from '../shared/db/index.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { UsageQuery, UsageSchema } from '../shared/billing/usageSchemas.js';
import { getMonthlyUsage } from '../shared/billing/usageService.js';

defineRoute({
  operationId: 'getUsage',
  method: 'GET',
  path: '/v1/usage',
  tags: ['Billing'],
  summary: 'Usage and estimated cost this month',
  description:
    'The current calendar month in UTC: tokens by model (`provider/name`, lower case), storage in GB-hours ' +
    '(hourly samples plus what is stored now for the time since the last sample) and GB stored now, sessions ' +
    'uploaded, examples completed, and the cost at the configured prices in minor units (cents for usd). ' +
    'With `suite_id`, tokens, sessions and examples are that suite\'s; storage is per account. A key limited to ' +
    'some suites sees those suites only; any other `suite_id` is 404.',
  auth: 'apiKey',
  query: UsageQuery,
  responses: { 200: { description: 'This month\'s usage.', schema: UsageSchema } },
  errors: ['not_found'],
  handler: async ({ auth, query }) => jsonResponse(200, await getMonthlyUsage(getDb(), getConfig(), auth, query)),
});
