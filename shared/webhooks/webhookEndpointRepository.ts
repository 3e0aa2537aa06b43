import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import type { Database, WebhookEndpointsTable } from '../db/schema.js';
import { type Pagination } from '../validation/pagination.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Every column but the secret, which is read only to sign (webhookDeliveryRepository.ts). */
const ENDPOINT_COLUMNS = [
  'id',
  'user_id',
  'url',
  'events',
  'description',
  'enabled',
  'disabled_reason',
  'created_at',
  'updated_at',
] as const;

export async function countUserEndpoints(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .where('user_id', '=', userId)
    .where('a2p_task_id', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

export async function insertEndpoint(db: Db, values: Insertable<WebhookEndpointsTable>) {
  return db.insertInto('webhook_endpoints').values(values).returning(ENDPOINT_COLUMNS).executeTakeFirstOrThrow();
}

export async function listUserEndpoints(db: Db, userId: string, pagination: Pagination) {
  const mine = db.selectFrom('webhook_endpoints').where('user_id', '=', userId).where('a2p_task_id', 'is', null);
  return newestFirstPage(mine, (query) => query.select(ENDPOINT_COLUMNS), pagination);
}

export async function findUserEndpoint(db: Db, userId: string, id: string) {
  return db
    .selectFrom('webhook_endpoints')
    .select(ENDPOINT_COLUMNS)
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('a2p_task_id', 'is', null)
    .executeTakeFirst();
}

export type EndpointRow = NonNullable<Awaited<ReturnType<typeof findUserEndpoint>>>;

export async function updateUserEndpoint(db: Db, userId: string, id: string, changes: Updateable<WebhookEndpointsTable>) {
  return db
    .updateTable('webhook_endpoints')
    .set(changes)
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('a2p_task_id', 'is', null)
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();
}

export async function deleteUserEndpoint(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('webhook_endpoints')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('a2p_task_id', 'is', null)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
