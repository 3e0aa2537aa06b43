import type { Insertable, Kysely } from 'kysely';
import type { ApiKeysTable, Database } from '../db/schema.js';
import { type Pagination } from '../validation/pagination.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

const KEY_COLUMNS = ['id', 'prefix', 'name', 'scopes', 'suite_ids', 'created_at', 'last_used_at'] as const;

export async function insertApiKey(db: Kysely<Database>, key: Insertable<ApiKeysTable>) {
  return db.insertInto('api_keys').values(key).returning(KEY_COLUMNS).executeTakeFirstOrThrow();
}

export async function listActiveApiKeys(db: Kysely<Database>, userId: string, pagination: Pagination) {
  const active = db.selectFrom('api_keys').where('user_id', '=', userId).where('revoked_at', 'is', null);
  return newestFirstPage(active, (query) => query.select(KEY_COLUMNS), pagination);
}

export async function findActiveApiKey(db: Kysely<Database>, userId: string, id: string) {
  return db
    .selectFrom('api_keys')
    .select(KEY_COLUMNS)
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** Revokes the key if it is the user's and still active; false otherwise. */
export async function revokeApiKey(db: Kysely<Database>, userId: string, id: string): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function findKeyCreator(db: Kysely<Database>, userId: string) {
  return db
    .selectFrom('users')
    .select(['scopes', 'default_payment_method_id'])
    .where('id', '=', userId)
    .executeTakeFirst();
}

export async function findExistingSuiteIds(db: Kysely<Database>, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('suites').select('id').where('id', 'in', ids).execute();
  return rows.map((row) => row.id);
}
