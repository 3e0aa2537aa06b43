import type { InvocationDeps } from '../runtime/appDeps.js';
import { webhookAddressPolicyOf } from './webhookAddressPolicy.js';
import type { WebhookDeliveryDeps } from './webhookDeliverer.js';
import type { WebhookEndpointDeps } from './webhookEndpointService.js';

/** What the deliverer works with; the address policy follows TRACEPIPE_ENV, its lines are warnings. */
export function webhookDeliveryDeps(deps: InvocationDeps): WebhookDeliveryDeps {
  return { db: deps.db, policy: webhookAddressPolicyOf(deps.config), log: (message) => deps.logger.warn(message) };
}

export function webhookEndpointDeps(deps: InvocationDeps): WebhookEndpointDeps {
  const delivery = webhookDeliveryDeps(deps);
  return { db: delivery.db, policy: delivery.policy, delivery };
}
