import { BudgetSchema, PutBudgetBodySchema } from '../shared/billing/budgetSchemas.js';
import { getBudget, putBudget } from '../shared/billing/budgetService.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';

defineRoute({
  operationId: 'getBudget',
  method: 'GET',
  path: '/v1/billing/budget',
  tags: ['Billing'],
  summary: 'The monthly budget',
  description:
    'The account\'s monthly limit (minor units of the billing currency; null: none), whether it is hard, and the ' +
    'alert thresholds. Without a budget set: no limit, soft, thresholds 0.5, 0.8 and 1. Where this month stands ' +
    'against it is in GET /v1/usage (`budget`).',
  auth: 'apiKey',
  responses: { 200: { description: 'The budget.', schema: BudgetSchema } },
  handler: async ({ auth, deps }) => jsonResponse(200, await getBudget(deps.db, deps.config, auth.userId)),
});

defineRoute({
  operationId: 'putBudget',
  method: 'PUT',
  path: '/v1/billing/budget',
  tags: ['Billing'],
  summary: 'Set the monthly budget',
  description:
    'Sets the monthly limit, in minor units (cents for usd) of the billing currency, measured by GET /v1/usage ' +
    '`estimated_cost.total` for the whole account. Each alert threshold crossed in a month sends ' +
    '`usage.budget_threshold` to webhooks once (checked every 5 minutes and when paid work is asked for). With ' +
    '`hard_limit`, once the limit is reached new paid work is refused with 402 `budget_exceeded` (details: `limit`, ' +
    '`used`); reads and downloads keep working, and work accepted before finishes and is billed. A negative ' +
    'limit, a threshold outside (0, 1] or another currency is 422 naming the field.',
  auth: 'apiKey',
  body: PutBudgetBodySchema,
  responses: { 200: { description: 'The budget as saved.', schema: BudgetSchema } },
  handler: async ({ auth, body, deps }) => jsonResponse(200, await putBudget(deps.db, deps.config, auth.userId, body)),
});

