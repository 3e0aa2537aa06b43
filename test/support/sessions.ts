import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * A session row in the state a test needs, written straight to the database (the upload and indexing path has
 * tests of its own); `ready` sessions get the measurements a ready session must have.
 */
export async function createSessionRow(
  userId: string,
  suiteId: string,
  status: 'awaiting_upload' | 'processing' | 'ready' | 'invalid' = 'ready',
): Promise<string> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    const ready = status === 'ready';
    const { rows } = await client.query<{ id: string }>(
      `insert into sessions (user_id, suite_id, storage_path, status, size_bytes, event_count, sha256)
       values ($1, $2, 'sessions/pending/', $3, $4, $5, $6) returning id`,
      [userId, suiteId, status, ready ? 100 : null, ready ? 3 : null, ready ? randomBytes(32).toString('hex') : null],
    );
    const id = rows[0]!.id;
    await client.query('update sessions set storage_path = $2 where id = $1', [id, `sessions/${id}/`]);
    return id;
  } finally {
    await client.end();
  }
}
