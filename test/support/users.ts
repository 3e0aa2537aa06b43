import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import type { ApiKeyScope } from '../../shared/db/schema.js';

export interface TestUser {
  userId: string;
  apiKeyId: string;
  /** The key's secret, for X-API-Key. */
  key: string;
}

/**
 * A user of the test's own with one API key, written straight to the database of the API under test, so that
 * each test starts from data nobody else touches (two users make the "someone else's data is 404" checks).
 */
export async function createTestUser(
  options: { scopes?: ApiKeyScope[]; suiteIds?: string[] | null; displayName?: string } = {},
): Promise<TestUser> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    const key = generateApiKeySecret();
    const user = await client.query<{ id: string }>(
      'insert into users (display_name, email) values ($1, $2) returning id',
      [options.displayName ?? 'Test User', `test-${randomUUID()}@example.com`],
    );
    const userId = user.rows[0]!.id;
    const apiKey = await client.query<{ id: string }>(
      `insert into api_keys (user_id, name, prefix, key_hash, scopes, suite_ids)
       values ($1, 'test key', $2, $3, $4, $5) returning id`,
      [
        userId,
        maskApiKeySecret(key),
        hashApiKeySecret(key, inject('apiKeyHmacSecret')),
        options.scopes ?? ['api'],
        options.suiteIds ?? null,
      ],
    );
    return { userId, apiKeyId: apiKey.rows[0]!.id, key };
  } finally {
    await client.end();
  }
}
