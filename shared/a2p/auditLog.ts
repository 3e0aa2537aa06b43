import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface A2pRequestRecord {
  requestId: string;
  userId: string;
  apiKeyId: string | null;
  method: string | null;
  protocolVersion: string;
  taskId: string | null;
  error: { code: number; message: string } | null;
  durationMs: number;
}

const MAX_TEXT = 500;

/** One row per JSON-RPC request in a2p_requests (migrations/0006): who asked what, about which task, and how it went. */
export async function recordA2pRequest(db: Kysely<Database>, record: A2pRequestRecord): Promise<void> {
  await db
    .insertInto('a2p_requests')
    .values({
      request_id: record.requestId,
      user_id: record.userId,
      api_key_id: record.apiKeyId,
      method: record.method?.slice(0, MAX_TEXT) ?? null,
      protocol_version: record.protocolVersion.slice(0, MAX_TEXT),
      task_id: record.taskId,
      outcome: record.error ? 'error' : 'ok',
      error_code: record.error?.code ?? null,
      error_message: record.error?.message.slice(0, MAX_TEXT) ?? null,
      duration_ms: Math.max(0, Math.round(record.durationMs)),
    })
    .execute();
}

/** Audit rows are kept this long (README, Agents over A2A). */
export const A2P_AUDIT_RETENTION_DAYS = 90;

export async function purgeA2pRequests(db: Kysely<Database>, olderThanDays = A2P_AUDIT_RETENTION_DAYS): Promise<number> {
  const result = await db
    .deleteFrom('a2p_requests')
    .where('created_at', '<', new Date(Date.now() - olderThanDays * 24 * 3600 * 1000))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
