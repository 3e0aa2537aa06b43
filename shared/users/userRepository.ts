import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export async function findUserById(db: Kysely<Database>, userId: string) {
  return db
    .selectFrom('users')
    .select(['id', 'display_name', 'email', 'created_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
}
