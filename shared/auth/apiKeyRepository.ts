import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** The active key with this hash and its user, or undefined. Revoked keys never match. */
export async function findActiveApiKeyByHash(db: Kysely<Database>, keyHash: string) {
  return db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select([
      'api_keys.id as apiKeyId',
      'api_keys.user_id as userId',
      'api_keys.scopes as scopes',
      'api_keys.suite_ids as suiteIds',
    ])
    .where('api_keys.key_hash', '=', keyHash)
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst();
}
