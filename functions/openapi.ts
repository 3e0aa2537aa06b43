import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { generateOpenApiDocument } from '../shared/openapi/registry.js';
import { z } from '../shared/openapi/zod.js';

defineRoute({
  operationId: 'getOpenApiDocument',
  method: 'GET',
  path: '/v1/openapi.json',
  tags: ['Meta'],
  summary: 'This API\'s OpenAPI 3.1 document',
  description: 'Generated at run time from the same zod schemas that validate requests. Needs no API key.',
  auth: 'public',
  responses: {
    200: { description: 'The OpenAPI document.', schema: z.record(z.string(), z.unknown()).openapi('OpenApiDocument') },
  },
  handler: async () => jsonResponse(200, generateOpenApiDocument()),
});
