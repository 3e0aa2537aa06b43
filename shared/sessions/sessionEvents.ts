import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { recordWebhookEvent } from '../webhooks/webhookOutbox.js';
import type { SessionRow } from './sessionRepository.js';
import { toSessionResponse } from './sessionService.js';

/** session.ready or session.invalid, in the transaction that indexed (or abandoned) the session. */
export async function recordSessionOutcomeEvent(trx: Transaction<Database>, row: SessionRow & { user_id: string }): Promise<void> {
  if (row.status !== 'ready' && row.status !== 'invalid') return;
  await recordWebhookEvent(trx, row.user_id, `session.${row.status}`, toSessionResponse(row));
}
