import { ApiKeyIdParams, ApiKeySchema, CreateApiKeyBodySchema, CreatedApiKeySchema } from '../shared/apiKeys/apiKeySchemas.js';
import { createApiKey, listApiKeys, revokeUserApiKey } from '../shared/apiKeys/apiKeyService.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { pageSchema, PaginationQuery } from '../shared/validation/pagination.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';

defineRoute({
  operationId: 'createApiKey',
  method: 'POST',
  path: '/v1/api-keys',
  tags: ['API keys'],
  summary: 'Create an API key',
  description:
    'Creates a key and returns its secret once (`key`); only a masked form is shown afterwards. A key never ' +
    'grants more than the key or user creating it holds: scopes beyond it, or suites outside its own suite ' +
    'restriction, are 403. With billing enabled a payment method must be on file (403, ' +
    '`details.reason: payment_method_required`). Counts against the key-management rate limit (10 a minute).',
  auth: 'apiKey',
  rateLimit: 'key_management',
  body: CreateApiKeyBodySchema,
  bodyOptional: true,
  responses: { 201: { description: 'The key, with its secret.', schema: CreatedApiKeySchema } },
  errors: ['forbidden'],
  handler: async ({ auth, body, deps }) => jsonResponse(201, await createApiKey(deps.db, deps.config, auth, body)),
});

defineRoute({
  operationId: 'listApiKeys',
  method: 'GET',
  path: '/v1/api-keys',
  tags: ['API keys'],
  summary: 'List active API keys',
  description: 'The user\'s keys that are not revoked, masked, newest first.',
  auth: 'apiKey',
  rateLimit: 'key_management',
  query: PaginationQuery,
  responses: { 200: { description: 'A page of keys.', schema: pageSchema(ApiKeySchema).openapi('ApiKeyPage') } },
  handler: async ({ auth, query, deps }) => jsonResponse(200, await listApiKeys(deps.db, auth, query)),
});

defineRoute({
  operationId: 'revokeApiKey',
  method: 'DELETE',
  path: '/v1/api-keys/{id}',
  tags: ['API keys'],
  summary: 'Revoke an API key',
  description:
    'Revokes the key at once: its very next request is 401, on every instance. A key may revoke itself, or ' +
    'keys that hold no more than it does (403 otherwise). Unknown, revoked and other users\' keys are 404.',
  auth: 'apiKey',
  rateLimit: 'key_management',
  params: ApiKeyIdParams,
  responses: { 204: { description: 'Revoked.' } },
  errors: ['forbidden', 'not_found'],
  handler: async ({ auth, params, deps }) => {
    await revokeUserApiKey(deps.db, auth, params.id);
    return noContent();
  },
});
