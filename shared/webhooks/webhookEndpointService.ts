import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../validation/pagination.js';
import { endpointUrlRefusal, type HostResolver, type WebhookAddressPolicy } from './webhookAddressPolicy.js';
import { deliverNow, type WebhookDeliveryDeps } from './webhookDeliverer.js';
import {
  findEndpointDelivery,
  listEndpointDeliveries,
  scheduleRedelivery,
  type DeliveryRow,
} from './webhookDeliveryRepository.js';
import {
  countUserEndpoints,
  deleteUserEndpoint,
  findUserEndpoint,
  insertEndpoint,
  listUserEndpoints,
  updateUserEndpoint,
  type EndpointRow,
} from './webhookEndpointRepository.js';
import { recordPing } from './webhookOutbox.js';
import {
  MAX_WEBHOOK_ENDPOINTS,
  type CreateWebhookEndpointBody,
  type UpdateWebhookEndpointBody,
  type WebhookDeliveryResponse,
  type WebhookEndpointResponse,
} from './webhookSchemas.js';
import { generateWebhookSecret } from './webhookSignature.js';

type Db = Kysely<Database>;

export interface WebhookEndpointDeps {
  db: Db;
  policy: WebhookAddressPolicy;
  resolve?: HostResolver;
  delivery: WebhookDeliveryDeps;
}

export function toWebhookEndpointResponse(row: EndpointRow): WebhookEndpointResponse {
  return {
    id: row.id,
    url: row.url,
    events: row.events as WebhookEndpointResponse['events'],
    description: row.description,
    enabled: row.enabled,
    disabled_reason: row.disabled_reason,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function toDeliveryResponse(row: DeliveryRow): WebhookDeliveryResponse {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    state: row.delivered_at ? 'delivered' : row.failed_at ? 'failed' : 'pending',
    attempts: row.attempts,
    last_status: row.last_status,
    last_error: row.last_error,
    latency_ms: row.latency_ms,
    next_attempt_at: row.next_attempt_at?.toISOString() ?? null,
    delivered_at: row.delivered_at?.toISOString() ?? null,
    failed_at: row.failed_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

async function assertUrlAllowed(deps: WebhookEndpointDeps, url: string): Promise<void> {
  const refusal = await endpointUrlRefusal(url, deps.policy, deps.resolve);
  if (refusal) {
    throw ApiError.validation('This URL cannot receive webhooks.', {
      fields: [{ location: 'body', field: 'url', message: refusal }],
    });
  }
}

async function ownEndpoint(db: Db, auth: AuthContext, id: string): Promise<EndpointRow> {
  const endpoint = await findUserEndpoint(db, auth.userId, id);
  if (!endpoint) throw ApiError.notFound('No such webhook endpoint.');
  return endpoint;
}

export async function createWebhookEndpoint(deps: WebhookEndpointDeps, auth: AuthContext, body: CreateWebhookEndpointBody) {
  await assertUrlAllowed(deps, body.url);
  if ((await countUserEndpoints(deps.db, auth.userId)) >= MAX_WEBHOOK_ENDPOINTS) {
    throw ApiError.conflict(`At most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints per account; delete one first.`, {
      limit: MAX_WEBHOOK_ENDPOINTS,
    });
  }
  const secret = generateWebhookSecret();
  const row = await insertEndpoint(deps.db, {
    user_id: auth.userId,
    url: body.url,
    events: body.events,
    description: body.description ?? null,
    secret,
  });
  return { ...toWebhookEndpointResponse(row), secret };
}

export async function listWebhookEndpoints(db: Db, auth: AuthContext, pagination: Pagination): Promise<Page<WebhookEndpointResponse>> {
  const { rows, total } = await listUserEndpoints(db, auth.userId, pagination);
  return toPage(rows.map(toWebhookEndpointResponse), total, pagination);
}

export async function getWebhookEndpoint(db: Db, auth: AuthContext, id: string): Promise<WebhookEndpointResponse> {
  return toWebhookEndpointResponse(await ownEndpoint(db, auth, id));
}

export async function updateWebhookEndpoint(
  deps: WebhookEndpointDeps,
  auth: AuthContext,
  id: string,
  body: UpdateWebhookEndpointBody,
): Promise<WebhookEndpointResponse> {
  const current = await ownEndpoint(deps.db, auth, id);
  if (body.url !== undefined) await assertUrlAllowed(deps, body.url);
  const changes = {
    ...(body.url !== undefined ? { url: body.url } : {}),
    ...(body.events !== undefined ? { events: body.events } : {}),
    ...(body.description !== undefined ? { description: body.description } : {}),
    // Enabling clears what disabling said, and the failure streak that led to it.
    ...(body.enabled !== undefined ? { enabled: body.enabled, disabled_reason: null, failing_since: null } : {}),
  };
  if (Object.keys(changes).length === 0) return toWebhookEndpointResponse(current);
  const row = await updateUserEndpoint(deps.db, auth.userId, id, changes);
  if (!row) throw ApiError.notFound('No such webhook endpoint.');
  return toWebhookEndpointResponse(row);
}

export async function deleteWebhookEndpoint(db: Db, auth: AuthContext, id: string): Promise<void> {
  if (!(await deleteUserEndpoint(db, auth.userId, id))) throw ApiError.notFound('No such webhook endpoint.');
}

export async function listWebhookDeliveries(
  db: Db,
  auth: AuthContext,
  id: string,
  pagination: Pagination,
): Promise<Page<WebhookDeliveryResponse>> {
  await ownEndpoint(db, auth, id);
  const { rows, total } = await listEndpointDeliveries(db, id, pagination);
  return toPage(rows.map(toDeliveryResponse), total, pagination);
}

async function deliveryNow(deps: WebhookEndpointDeps, endpointId: string, deliveryId: string): Promise<WebhookDeliveryResponse> {
  await deliverNow(deps.delivery, deliveryId);
  const row = await findEndpointDelivery(deps.db, endpointId, deliveryId);
  if (!row) throw ApiError.notFound('No such delivery.');
  return toDeliveryResponse(row);
}

function assertEnabled(endpoint: EndpointRow): void {
  if (!endpoint.enabled) {
    throw ApiError.conflict('This endpoint is disabled; enable it first (PATCH enabled: true).', {
      disabled_reason: endpoint.disabled_reason,
    });
  }
}

/** POST .../test: a `ping` to this endpoint, tried at once (and retried like any delivery if that fails). */
export async function pingWebhookEndpoint(deps: WebhookEndpointDeps, auth: AuthContext, id: string): Promise<WebhookDeliveryResponse> {
  assertEnabled(await ownEndpoint(deps.db, auth, id));
  const deliveryId = await recordPing(deps.db, auth.userId, id);
  return deliveryNow(deps, id, deliveryId);
}

/** POST .../deliveries/{delivery_id}/redeliver: the same event again, tried at once, with a fresh retry window. */
export async function redeliverWebhook(
  deps: WebhookEndpointDeps,
  auth: AuthContext,
  id: string,
  deliveryId: string,
): Promise<WebhookDeliveryResponse> {
  assertEnabled(await ownEndpoint(deps.db, auth, id));
  if (!(await findEndpointDelivery(deps.db, id, deliveryId))) throw ApiError.notFound('No such delivery.');
  await scheduleRedelivery(deps.db, deliveryId);
  return deliveryNow(deps, id, deliveryId);
}
