import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { recordWebhookEvent } from '../webhooks/webhookOutbox.js';
import type { DatasetRow } from './datasetRepository.js';
import { toDatasetResponse } from './datasetResponse.js';

/** dataset.ready or dataset.failed, in the transaction that ended the build. */
export async function recordDatasetOutcomeEvent(trx: Transaction<Database>, row: DatasetRow): Promise<void> {
  if (row.status !== 'ready' && row.status !== 'failed') return;
  await recordWebhookEvent(trx, row.user_id, `dataset.${row.status}`, toDatasetResponse(row));
}
