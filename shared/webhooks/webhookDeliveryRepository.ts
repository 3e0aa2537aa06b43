import { sql, type Kysely } from 'kysely';
import type { Database, JsonValue } from '../db/schema.js';
import { offsetOf, type Pagination } from '../validation/pagination.js';
import { RETRY_WINDOW_HOURS } from './webhookOutbox.js';

type Db = Kysely<Database>;

const DELIVERY_COLUMNS = [
  'd.id',
  'd.event_id',
  'e.type as event_type',
  'd.attempts',
  'd.last_status',
  'd.last_error',
  'd.latency_ms',
  'd.next_attempt_at',
  'd.delivered_at',
  'd.failed_at',
  'd.created_at',
] as const;

export async function listEndpointDeliveries(db: Db, endpointId: string, pagination: Pagination) {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
      .select(DELIVERY_COLUMNS)
      .where('d.endpoint_id', '=', endpointId)
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(pagination.per_page)
      .offset(offsetOf(pagination))
      .execute(),
    db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .where('endpoint_id', '=', endpointId)
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}

export async function findEndpointDelivery(db: Db, endpointId: string, deliveryId: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select(DELIVERY_COLUMNS)
    .where('d.endpoint_id', '=', endpointId)
    .where('d.id', '=', deliveryId)
    .executeTakeFirst();
}

export type DeliveryRow = NonNullable<Awaited<ReturnType<typeof findEndpointDelivery>>>;

/** Due again now, with a fresh retry window: a redelivery (of any delivery, delivered, failed or pending). */
export async function scheduleRedelivery(db: Db, deliveryId: string): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({
      next_attempt_at: sql<Date>`now()`,
      retry_until: sql<Date>`now() + make_interval(hours => ${RETRY_WINDOW_HOURS})`,
      delivered_at: null,
      failed_at: null,
    })
    .where('id', '=', deliveryId)
    .execute();
}

/** What one attempt needs: the event, the endpoint's URL and secret. */
export interface ClaimedDelivery {
  id: string;
  attempts: number;
  retry_until: Date | null;
  endpoint_id: string;
  url: string;
  secret: string;
  event_id: string;
  event_type: string;
  event_created_at: Date;
  data: JsonValue;
}

/**
 * Takes up to `limit` due deliveries of enabled endpoints (or the one `onlyId`), oldest due first, and leases
 * them: next_attempt_at moves `leaseSeconds` ahead and the attempt is counted, in one statement, so that two
 * deliverers never take the same row (SKIP LOCKED) and a deliverer that dies mid-attempt is replaced once the
 * lease ends (at least once, never lost).
 */
export async function claimDueDeliveries(
  db: Db,
  limit: number,
  leaseSeconds: number,
  onlyId?: string,
): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>`
    with due as (
      select d.id from webhook_deliveries d
      join webhook_endpoints w on w.id = d.endpoint_id
      where d.next_attempt_at <= now() and w.enabled
        ${onlyId === undefined ? sql`` : sql`and d.id = ${onlyId}`}
      order by d.next_attempt_at
      limit ${limit}
      for update of d skip locked
    ), claimed as (
      update webhook_deliveries d
      set next_attempt_at = now() + make_interval(secs => ${leaseSeconds}),
          attempts = d.attempts + 1,
          retry_until = coalesce(d.retry_until, now() + make_interval(hours => ${RETRY_WINDOW_HOURS}))
      from due where d.id = due.id
      returning d.*
    )
    select c.id, c.attempts, c.retry_until, c.endpoint_id, w.url, w.secret,
           e.id as event_id, e.type as event_type, e.created_at as event_created_at, e.data
    from claimed c
    join webhook_endpoints w on w.id = c.endpoint_id
    join webhook_events e on e.id = c.event_id`.execute(db);
  return rows;
}

export interface AttemptRecord {
  status: number | null;
  error: string | null;
  latencyMs: number;
}

/** A 2xx: delivered, and the endpoint is no longer failing. */
export async function recordDelivered(db: Db, delivery: ClaimedDelivery, attempt: AttemptRecord): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('webhook_deliveries')
      .set({
        delivered_at: sql<Date>`now()`,
        next_attempt_at: null,
        last_status: attempt.status,
        last_error: null,
        latency_ms: attempt.latencyMs,
      })
      .where('id', '=', delivery.id)
      .execute();
    await trx.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', delivery.endpoint_id).where('failing_since', 'is not', null).execute();
  });
}

/**
 * A failed attempt: tried again at `retryAt`, or failed for good past the retry window. The endpoint has been
 * failing since its first failure after a success; once that is `disableAfterHours` ago it is disabled, with the
 * reason (its pending deliveries wait; they fail past their window once it is enabled again).
 */
export async function recordFailedAttempt(
  db: Db,
  delivery: ClaimedDelivery,
  attempt: AttemptRecord,
  retryAt: Date,
  disableAfterHours: number,
): Promise<{ failed: boolean; disabled: boolean }> {
  return db.transaction().execute(async (trx) => {
    const giveUp = delivery.retry_until !== null && retryAt >= delivery.retry_until;
    await trx
      .updateTable('webhook_deliveries')
      .set({
        next_attempt_at: giveUp ? null : retryAt,
        failed_at: giveUp ? sql<Date>`now()` : null,
        last_status: attempt.status,
        last_error: attempt.error,
        latency_ms: attempt.latencyMs,
      })
      .where('id', '=', delivery.id)
      .execute();
    const endpoint = await trx
      .updateTable('webhook_endpoints')
      .set({ failing_since: sql<Date>`coalesce(failing_since, now())` })
      .where('id', '=', delivery.endpoint_id)
      .returning(['failing_since', 'enabled'])
      .executeTakeFirst();
    const since = endpoint?.failing_since;
    if (!endpoint?.enabled || !since || Date.now() - since.getTime() < disableAfterHours * 3_600_000) {
      return { failed: giveUp, disabled: false };
    }
    await trx
      .updateTable('webhook_endpoints')
      .set({
        enabled: false,
        disabled_reason:
          `Disabled on ${new Date().toISOString()}: every delivery failed since ${since.toISOString()} ` +
          `(${disableAfterHours / 24} days); the last: ${attempt.error ?? `HTTP ${attempt.status}`}. ` +
          'Fix the receiver, then PATCH enabled: true.',
      })
      .where('id', '=', delivery.endpoint_id)
      .execute();
    return { failed: giveUp, disabled: true };
  });
}
