import type { BlobServiceClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import type { Database, ExampleStatus } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { deleteBlobFolder } from '../storage/blobFolders.js';
import { EXAMPLES_CONTAINER } from '../storage/layout.js';
import { recordTokenUsage } from '../billing/tokenUsage.js';
import { findExampleById, transitionExample, type ExampleRow } from './exampleRepository.js';
import type { PipelineUpdateBody } from './exampleSchemas.js';
import { findToolsOfMap } from '../catalog/actionToolMapRepository.js';
import { recordWebhookEvent } from '../webhooks/webhookOutbox.js';
import { canonicalizeMessagesBlob } from './canonicalMessagesBlob.js';
import { toExampleResponse } from './exampleService.js';

/** The moves the contract allows; repeating the current state is a no-op, anything else a 409. */
const ALLOWED_FROM: Record<PipelineUpdateBody['status'], ExampleStatus[]> = {
  PROCESSING: ['PENDING'],
  COMPLETED: ['PROCESSING'],
  FAILED: ['PENDING', 'PROCESSING'],
};

function illegal(from: ExampleStatus, to: ExampleStatus): ApiError {
  return ApiError.conflict(`An example cannot move from ${from} to ${to}.`, { from, to });
}

/**
 * The pipelines service's report on an example (it works on every user's examples, hence no owner check).
 * COMPLETED is accepted only with usage and a valid messages.jsonl, which is stored in canonical form first (see
 * canonicalMessagesBlob.ts); usage is recorded once, in the same transaction as the move, so that a repeated or
 * concurrent COMPLETED never records it twice. So is the example.completed / example.failed webhook event.
 */
export async function applyPipelineUpdate(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  exampleId: string,
  update: PipelineUpdateBody,
): Promise<ExampleRow> {
  const current = await findExampleById(db, exampleId);
  if (!current) throw ApiError.notFound('No such example.');
  if (current.deleted_at) {
    // Whatever the service wrote for it since goes too (its job may have been on the queue when it was deleted).
    await deleteBlobFolder(blobs.getContainerClient(EXAMPLES_CONTAINER), `${exampleId}/`);
    throw ApiError.conflict('The example was deleted; drop the work for it.', { reason: 'example_deleted', status: current.status });
  }
  if (current.status === update.status) return current;
  if (!ALLOWED_FROM[update.status].includes(current.status)) throw illegal(current.status, update.status);

  let conversationSha256: string | undefined;
  if (update.status === 'COMPLETED') {
    if (!update.usage) {
      throw ApiError.badRequest('usage is required with COMPLETED.', {
        fields: [{ location: 'body', field: 'usage', message: 'Required with COMPLETED.' }],
      });
    }
    const toolNames = new Set((await findToolsOfMap(db, current.action_tool_map_id)).map((tool) => tool.name));
    conversationSha256 = (await canonicalizeMessagesBlob(blobs, exampleId, toolNames)).conversationSha256;
  }

  const moved = await db.transaction().execute(async (trx) => {
    const row = await transitionExample(trx, exampleId, {
      from: ALLOWED_FROM[update.status],
      to: update.status,
      ...(update.status === 'FAILED' ? { error: update.error ?? 'The pipelines service reported a failure.' } : {}),
      ...(update.status === 'COMPLETED' ? { usage: update.usage, conversationSha256 } : {}),
    });
    if (row?.status === 'COMPLETED') {
      await recordTokenUsage(trx, {
        userId: row.user_id,
        exampleId: row.id,
        suiteId: row.suite_id,
        modelId: row.model_id,
        inputTokens: row.input_tokens ?? 0,
        outputTokens: row.output_tokens ?? 0,
      });
    }
    // The owner's webhooks hear of the result with the move itself (an outbox row: nothing is lost to a crash).
    if (row?.status === 'COMPLETED' || row?.status === 'FAILED') {
      await recordWebhookEvent(trx, row.user_id, row.status === 'COMPLETED' ? 'example.completed' : 'example.failed', toExampleResponse(row));
    }
    return row;
  });
  if (moved) return moved;
  // Someone else moved it meanwhile: the same move is a no-op, any other is illegal from where it now is.
  const now = await findExampleById(db, exampleId);
  if (!now) throw ApiError.notFound('No such example.');
  if (now.deleted_at) throw ApiError.conflict('The example was deleted; drop the work for it.', { reason: 'example_deleted', status: now.status });
  if (now.status === update.status) return now;
  throw illegal(now.status, update.status);
}
