import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database, JsonValue } from '../db/schema.js';
import type { WebhookEventType } from './webhookSchemas.js';

/** Retries go on for this long after the first attempt (or a redelivery), then the delivery is failed. */
export const RETRY_WINDOW_HOURS = 24;

/**
 * Records an event in the outbox, with one delivery for each of the user's enabled endpoints subscribed to its
 * type. Call it with the transaction that makes the state change it reports: the event then exists exactly when
 * the change does, and the deliverer (webhookDeliverer.ts) sends it after the commit, however long that takes.
 * `data` is the resource as the REST API returns it (its own serializer), so a receiver parses one shape.
 */
export async function recordWebhookEvent(
  trx: Transaction<Database>,
  userId: string,
  type: Exclude<WebhookEventType, 'ping'>,
  data: unknown,
): Promise<string> {
  const event = await insertEvent(trx, userId, type, data);
  await insertDeliveries(trx, event.id, userId, sql<boolean>`a2p_task_id is null and ${type} = any(events)`);
  return event.id;
}

/** The event type of an A2P task's push notification: `data` is the task as A2A's JSON has it. */
export const A2P_TASK_EVENT = 'a2p.task';

/**
 * A push notification for each of an A2P task's push-notification configs (endpoints of their own, 0014), in the
 * transaction that changed the task; nothing at all (not even the event) for a task without one.
 */
export async function recordTaskPushEvent(trx: Transaction<Database>, userId: string, taskId: string, task: unknown): Promise<void> {
  const subscribed = await trx
    .selectFrom('webhook_endpoints')
    .select('id')
    .where('a2p_task_id', '=', taskId)
    .where('enabled', '=', true)
    .executeTakeFirst();
  if (!subscribed) return;
  const event = await insertEvent(trx, userId, A2P_TASK_EVENT, task);
  await insertDeliveries(trx, event.id, userId, sql<boolean>`a2p_task_id = ${taskId}`);
}

/** One delivery of the event for each of the user's enabled endpoints that `which` selects. */
async function insertDeliveries(trx: Transaction<Database>, eventId: string, userId: string, which: RawBuilder<boolean>) {
  await trx
    .insertInto('webhook_deliveries')
    .columns(['event_id', 'endpoint_id', 'retry_until'])
    .expression((eb) =>
      eb
        .selectFrom('webhook_endpoints')
        .select([
          sql.val(eventId).as('event_id'),
          'id',
          sql<Date>`now() + make_interval(hours => ${RETRY_WINDOW_HOURS})`.as('retry_until'),
        ])
        .where('user_id', '=', userId)
        .where('enabled', '=', true)
        .where(which),
    )
    .execute();
}

/** A ping for one endpoint only (POST /v1/webhook-endpoints/{id}/test): its delivery's id. */
export async function recordPing(db: Kysely<Database>, userId: string, endpointId: string): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const event = await insertEvent(trx, userId, 'ping', { endpoint_id: endpointId });
    const delivery = await trx
      .insertInto('webhook_deliveries')
      .values({
        event_id: event.id,
        endpoint_id: endpointId,
        retry_until: sql<Date>`now() + make_interval(hours => ${RETRY_WINDOW_HOURS})`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return delivery.id;
  });
}

async function insertEvent(trx: Transaction<Database>, userId: string, type: WebhookEventType | typeof A2P_TASK_EVENT, data: unknown) {
  return trx
    .insertInto('webhook_events')
    // The resources are JSON already (the REST serializers' output); stringify is what writes jsonb.
    .values({ user_id: userId, type, data: JSON.stringify(data as JsonValue) })
    .returning('id')
    .executeTakeFirstOrThrow();
}

/** Events (and their deliveries) are kept this long for the deliveries list and redelivery, then purged. */
export const WEBHOOK_EVENT_RETENTION_DAYS = 30;

/** Purges events older than the retention whose deliveries are all settled (delivered or failed). */
export async function purgeWebhookEvents(db: Kysely<Database>, olderThanDays = WEBHOOK_EVENT_RETENTION_DAYS): Promise<number> {
  const result = await db
    .deleteFrom('webhook_events')
    .where('created_at', '<', sql<Date>`now() - make_interval(days => ${olderThanDays})`)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('webhook_deliveries')
            .select('webhook_deliveries.id')
            .whereRef('webhook_deliveries.event_id', '=', 'webhook_events.id')
            .where('webhook_deliveries.next_attempt_at', 'is not', null),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
