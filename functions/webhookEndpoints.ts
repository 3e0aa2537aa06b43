import { z } from '../shared/openapi/zod.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { pageSchema, PaginationQuery } from '../shared/validation/pagination.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';
import { openApiRegistry, registerWhenDocumented } from '../shared/openapi/registry.js';
import { webhookEndpointDeps } from '../shared/webhooks/webhookDeps.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  pingWebhookEndpoint,
  redeliverWebhook,
  updateWebhookEndpoint,
} from '../shared/webhooks/webhookEndpointService.js';
import {
  CreatedWebhookEndpointSchema,
  CreateWebhookEndpointBodySchema,
  MAX_WEBHOOK_ENDPOINTS,
  UpdateWebhookEndpointBodySchema,
  WebhookDeliveryParams,
  WebhookDeliverySchema,
  WebhookEndpointParams,
  WebhookEndpointSchema,
  WebhookEventPayloadSchema,
} from '../shared/webhooks/webhookSchemas.js';

// Endpoints hold a secret and decide where our functions send requests: managed like API keys, and rate-limited
// with them (10 a minute).
const TAGS = ['Webhooks'];

// What a receiver gets, in the document's `webhooks` (OpenAPI 3.1): one POST per event and endpoint.
registerWhenDocumented(() =>
  openApiRegistry.registerWebhook({
    method: 'post',
    path: 'event',
    operationId: 'receiveWebhookEvent',
    // The receiver's own endpoint: it checks the signature, not one of our credentials.
    security: [],
    tags: TAGS,
    summary: 'An event, POSTed to each enabled endpoint subscribed to its type',
    description:
      'Signed: `Tracepipe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the endpoint secret>`; ' +
      '`Tracepipe-Event-Id` is the event id, the same on every retry: dedupe on it. Any 2xx answer acknowledges it; ' +
      'anything else (or no answer in 10 s) is retried with backoff for 24 hours.',
    request: {
      headers: z.object({
        'Tracepipe-Signature': z.string().openapi({ example: 't=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd' }),
        'Tracepipe-Event-Id': z.uuid(),
      }),
      body: { content: { 'application/json': { schema: WebhookEventPayloadSchema } } },
    },
    responses: { 200: { description: 'Received (any 2xx).' } },
  }),
);

defineRoute({
  operationId: 'createWebhookEndpoint',
  method: 'POST',
  path: '/v1/webhook-endpoints',
  tags: TAGS,
  summary: 'Create a webhook endpoint',
  description:
    'Events of the chosen types are POSTed to `url` as `{ id, type, created_at, data }`, `data` being the resource ' +
    'as this API returns it. The signing secret (`secret`, `whsec_...`) is shown once. A URL that may not receive ' +
    'webhooks (not https in production; a host that resolves to a loopback, private, link-local, unique-local or ' +
    `other non-public address) is 422 naming \`url\`; an unknown event type is 422 naming \`events\`. At most ` +
    `${MAX_WEBHOOK_ENDPOINTS} endpoints per account (409 beyond). Counts against the key-management rate limit (10 a minute).`,
  auth: 'apiKey',
  rateLimit: 'key_management',
  body: CreateWebhookEndpointBodySchema,
  responses: { 201: { description: 'The endpoint, with its secret.', schema: CreatedWebhookEndpointSchema } },
  errors: ['conflict'],
  handler: async ({ auth, body, context, deps }) =>
    jsonResponse(201, await createWebhookEndpoint(webhookEndpointDeps(deps), auth, body)),
});

defineRoute({
  operationId: 'listWebhookEndpoints',
  method: 'GET',
  path: '/v1/webhook-endpoints',
  tags: TAGS,
  summary: 'List webhook endpoints',
  description: 'The account\'s endpoints, newest first, without their secrets.',
  auth: 'apiKey',
  rateLimit: 'key_management',
  query: PaginationQuery,
  responses: {
    200: { description: 'A page of endpoints.', schema: pageSchema(WebhookEndpointSchema).openapi('WebhookEndpointPage') },
  },
  handler: async ({ auth, query, deps }) => jsonResponse(200, await listWebhookEndpoints(deps.db, auth, query)),
});

defineRoute({
  operationId: 'getWebhookEndpoint',
  method: 'GET',
  path: '/v1/webhook-endpoints/{id}',
  tags: TAGS,
  summary: 'Get a webhook endpoint',
  description: 'One endpoint; `disabled_reason` says why it stopped, when it was disabled for failing. Another account\'s is 404.',
  auth: 'apiKey',
  rateLimit: 'key_management',
  params: WebhookEndpointParams,
  responses: { 200: { description: 'The endpoint.', schema: WebhookEndpointSchema } },
  errors: ['not_found'],
  handler: async ({ auth, params, deps }) => jsonResponse(200, await getWebhookEndpoint(deps.db, auth, params.id)),
});

defineRoute({
  operationId: 'updateWebhookEndpoint',
  method: 'PATCH',
  path: '/v1/webhook-endpoints/{id}',
  tags: TAGS,
  summary: 'Change a webhook endpoint',
  description:
    'Changes `url`, `events`, `description` or `enabled` (true clears `disabled_reason` and resumes waiting ' +
    'deliveries). A new URL is checked as at creation (422 naming `url`).',
  auth: 'apiKey',
  rateLimit: 'key_management',
  params: WebhookEndpointParams,
  body: UpdateWebhookEndpointBodySchema,
  responses: { 200: { description: 'The endpoint after the change.', schema: WebhookEndpointSchema } },
  errors: ['not_found'],
  handler: async ({ auth, params, body, context, deps }) =>
    jsonResponse(200, await updateWebhookEndpoint(webhookEndpointDeps(deps), auth, params.id, body)),
});

defineRoute({
  operationId: 'deleteWebhookEndpoint',
  method: 'DELETE',
  path: '/v1/webhook-endpoints/{id}',
  tags: TAGS,
  summary: 'Delete a webhook endpoint',
  description: 'Deletes the endpoint and its deliveries: nothing more is sent to it.',
  auth: 'apiKey',
  rateLimit: 'key_management',
  params: WebhookEndpointParams,
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found'],
  handler: async ({ auth, params, deps }) => {
    await deleteWebhookEndpoint(deps.db, auth, params.id);
    return noContent();
  },
});

defineRoute({
  operationId: 'testWebhookEndpoint',
  method: 'POST',
  path: '/v1/webhook-endpoints/{id}/test',
  tags: TAGS,
  summary: 'Send a ping to a webhook endpoint',
  description:
    'Sends a `ping` event (`data: { endpoint_id }`) to this endpoint now, signed like every event, and answers ' +
    'with the delivery as it stands after that attempt (a failed attempt is retried like any other). A disabled ' +
    'endpoint is 409.',
  auth: 'apiKey',
  rateLimit: 'key_management',
  params: WebhookEndpointParams,
  responses: { 200: { description: 'The ping\'s delivery.', schema: WebhookDeliverySchema } },
  errors: ['not_found', 'conflict'],
  handler: async ({ auth, params, context, deps }) =>
    jsonResponse(200, await pingWebhookEndpoint(webhookEndpointDeps(deps), auth, params.id)),
});

defineRoute({
  operationId: 'listWebhookDeliveries',
  method: 'GET',
  path: '/v1/webhook-endpoints/{id}/deliveries',
  tags: TAGS,
  summary: 'List the deliveries of a webhook endpoint',
  description:
    'Newest first: the event, its state (pending, delivered, failed), the attempts made, the last status code, ' +
    'error and latency, the next attempt, and when it was delivered or failed.',
  auth: 'apiKey',
  rateLimit: 'key_management',
  params: WebhookEndpointParams,
  query: PaginationQuery,
  responses: {
    200: { description: 'A page of deliveries.', schema: pageSchema(WebhookDeliverySchema).openapi('WebhookDeliveryPage') },
  },
  errors: ['not_found'],
  handler: async ({ auth, params, query, deps }) => jsonResponse(200, await listWebhookDeliveries(deps.db, auth, params.id, query)),
});

defineRoute({
  operationId: 'redeliverWebhook',
  method: 'POST',
  path: '/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver',
  tags: TAGS,
  summary: 'Deliver an event again',
  description:
    'Sends the delivery\'s event again now (the same id and body, a fresh signature), whatever its state, and ' +
    'answers with the delivery after that attempt; if it fails, retries go on for another 24 hours. A disabled ' +
    'endpoint is 409.',
  auth: 'apiKey',
  rateLimit: 'key_management',
  params: WebhookDeliveryParams,
  responses: { 200: { description: 'The delivery after the attempt.', schema: WebhookDeliverySchema } },
  errors: ['not_found', 'conflict'],
  handler: async ({ auth, params, context, deps }) =>
    jsonResponse(
      200,
      await redeliverWebhook(webhookEndpointDeps(deps), auth, params.id, params.delivery_id),
    ),
});
