import { ApiError } from '../shared/errors/apiError.js';
import { checkHealth } from '../shared/health/checkHealth.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { HealthSchema } from '../shared/health/healthSchemas.js';

defineRoute({
  operationId: 'getHealth',
  method: 'GET',
  path: '/v1/health',
  tags: ['Meta'],
  summary: 'Check the API and its dependencies',
  description:
    'Checks that the database and blob storage answer (each within 3 seconds). 200 when both do; 503 in the ' +
    'error shape, with `details` naming which is down, when either does not. Needs no API key.',
  auth: 'public',
  responses: { 200: { description: 'The API, database and storage are up.', schema: HealthSchema } },
  handler: async ({ deps }) => {
    const report = await checkHealth(deps.db, await deps.storage.blobs());
    if (report.status !== 'ok') {
      throw ApiError.unavailable('A dependency is down; retry later.', report.checks);
    }
    return jsonResponse(200, report);
  },
});
