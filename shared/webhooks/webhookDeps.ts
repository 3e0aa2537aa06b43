import { getConfig } from '../config.js';
import { getDb } from '../db/index.js';
import { webhookAddressPolicyOf } from './webhookAddressPolicy.js';
import type { WebhookDeliveryDeps } from './webhookDeliverer.js';
import type { WebhookEndpointDeps } from './webhookEndpointService.js';

/** The process-wide clients the deliverer works with; the address policy follows TRACEPIPE_ENV. */
export function webhookDeliveryDeps(log: (message: string) => void): WebhookDeliveryDeps {
  return { db: getDb(), policy: webhookAddressPolicyOf(getConfig()), log };
}

export function webhookEndpointDeps(log: (message: string) => void): WebhookEndpointDeps {
  const delivery = webhookDeliveryDeps(log);
  return { db: delivery.db, policy: delivery.policy, delivery };
}
