import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { resolveWebhookTarget, type HostResolver, type WebhookAddressPolicy } from './webhookAddressPolicy.js';
import {
  claimDueDeliveries,
  recordDelivered,
  recordFailedAttempt,
  type ClaimedDelivery,
} from './webhookDeliveryRepository.js';
import { postWebhook, WEBHOOK_MAX_RESPONSE_BYTES, WEBHOOK_TIMEOUT_MS, type WebhookAttempt } from './webhookRequest.js';
import { webhookSignature } from './webhookSignature.js';

/*
 * The deliverer: a timer (functions/timers.ts, every few seconds) that sends what the outbox holds.
 *
 * Why a timer and not a queue: the outbox is a table, and it has to be (the event is written in the state
 * change's own transaction, which a queue cannot join). A queue would need a second hand-off from that table to
 * the queue, with its own outbox and sweeper, and would still need the table for retries 24 hours long (a Storage
 * queue message lives 7 days and retries on its own schedule, not ours), for the deliveries list and for
 * redelivery. A timer reads the table directly: claiming with FOR UPDATE SKIP LOCKED plus a lease makes it safe
 * on any number of instances, backoff is a column, and a crash anywhere leaves a row that is tried again. The price
 * is latency: an event waits up to one timer period (WEBHOOK_DELIVERY_SCHEDULE, 5 seconds by default) before its
 * first attempt; `npm run bench -- webhooks` measures it.
 *
 * Attempts back off exponentially (30 s, 1 min, 2 min, ... capped at 1 hour) for 24 hours, then the delivery is
 * failed. An endpoint whose every delivery failed for 3 days is disabled, with the reason in `disabled_reason`.
 */

export const FIRST_RETRY_SECONDS = 30;
export const MAX_RETRY_SECONDS = 3600;
export const DISABLE_AFTER_HOURS = 72;

export interface WebhookDeliveryDeps {
  db: Kysely<Database>;
  policy: WebhookAddressPolicy;
  resolve?: HostResolver;
  timeoutMs?: number;
  maxResponseBytes?: number;
  log: (message: string) => void;
}

export interface DeliveryRunReport {
  delivered: number;
  retrying: number;
  failed: number;
  disabled: number;
}

/** Seconds until the next attempt after `attempts` failed ones. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** Math.max(0, attempts - 1));
}

/** The body of a delivery: the event, the same bytes on every attempt. */
export function webhookBody(delivery: Pick<ClaimedDelivery, 'event_id' | 'event_type' | 'event_created_at' | 'data'>): string {
  return JSON.stringify({
    id: delivery.event_id,
    type: delivery.event_type,
    created_at: delivery.event_created_at.toISOString(),
    data: delivery.data,
  });
}

async function attempt(deps: WebhookDeliveryDeps, delivery: ClaimedDelivery): Promise<WebhookAttempt> {
  const started = performance.now();
  const target = await resolveWebhookTarget(delivery.url, deps.policy, deps.resolve);
  if (!target.ok) {
    return { status: null, error: `refused: ${target.reason}`, latencyMs: Math.round(performance.now() - started) };
  }
  const body = webhookBody(delivery);
  return postWebhook(
    target,
    body,
    {
      'Tracepipe-Signature': webhookSignature(delivery.secret, body, Math.floor(Date.now() / 1000)),
      'Tracepipe-Event-Id': delivery.event_id,
      'Tracepipe-Event-Type': delivery.event_type,
    },
    { timeoutMs: deps.timeoutMs ?? WEBHOOK_TIMEOUT_MS, maxResponseBytes: deps.maxResponseBytes ?? WEBHOOK_MAX_RESPONSE_BYTES },
  );
}

async function deliverOne(deps: WebhookDeliveryDeps, delivery: ClaimedDelivery, report: DeliveryRunReport): Promise<void> {
  const result = await attempt(deps, delivery);
  if (result.error === null) {
    await recordDelivered(deps.db, delivery, result);
    report.delivered++;
    return;
  }
  const retryAt = new Date(Date.now() + retryDelaySeconds(delivery.attempts) * 1000);
  const outcome = await recordFailedAttempt(deps.db, delivery, result, retryAt, DISABLE_AFTER_HOURS);
  if (outcome.failed) report.failed++;
  else report.retrying++;
  if (outcome.disabled) {
    report.disabled++;
    deps.log(`Webhook endpoint ${delivery.endpoint_id} disabled: every delivery failed for ${DISABLE_AFTER_HOURS / 24} days.`);
  }
}

function leaseSeconds(deps: WebhookDeliveryDeps): number {
  // The attempt's timeout plus room for DNS and the database: a live deliverer never loses its lease.
  return Math.ceil((deps.timeoutMs ?? WEBHOOK_TIMEOUT_MS) / 1000) + 60;
}

/**
 * Sends due deliveries, `concurrency` at a time, batch after batch until none is due or the time budget is spent
 * (the timer comes back soon after).
 */
export async function deliverDueWebhooks(
  deps: WebhookDeliveryDeps,
  options: { batch: number; concurrency: number; timeBudgetMs: number },
): Promise<DeliveryRunReport> {
  const report: DeliveryRunReport = { delivered: 0, retrying: 0, failed: 0, disabled: 0 };
  const deadline = Date.now() + options.timeBudgetMs;
  while (Date.now() < deadline) {
    const claimed = await claimDueDeliveries(deps.db, options.batch, leaseSeconds(deps));
    if (claimed.length === 0) break;
    let next = 0;
    const worker = async () => {
      while (next < claimed.length) {
        const delivery = claimed[next++] as ClaimedDelivery;
        await deliverOne(deps, delivery, report);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, claimed.length) }, worker));
    if (claimed.length < options.batch) break;
  }
  return report;
}

/** One delivery now, if it is due and its endpoint enabled (the test ping, a redelivery): false otherwise. */
export async function deliverNow(deps: WebhookDeliveryDeps, deliveryId: string): Promise<boolean> {
  const [delivery] = await claimDueDeliveries(deps.db, 1, leaseSeconds(deps), deliveryId);
  if (!delivery) return false;
  await deliverOne(deps, delivery, { delivered: 0, retrying: 0, failed: 0, disabled: 0 });
  return true;
}
