import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import type { Database, ExampleStatus } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { EXAMPLES_CONTAINER } from '../storage/layout.js';
import { recordTokenUsage } from '../billing/tokenUsage.js';
import { findExampleById, transitionExample, type ExampleRow } from './exampleRepository.js';
import type { PipelineUpdateBody } from './exampleSchemas.js';
import { messagesBlobName } from './exampleService.js';
import { checkTrainingMessages } from './trainingMessages.js';

/** The moves the contract allows; repeating the current state is a no-op, anything else a 409. */
const ALLOWED_FROM: Record<PipelineUpdateBody['status'], ExampleStatus[]> = {
  PROCESSING: ['PENDING'],
  COMPLETED: ['PROCESSING'],
  FAILED: ['PENDING', 'PROCESSING'],
};

function illegal(from: ExampleStatus, to: ExampleStatus): ApiError {
  return ApiError.conflict(`An example cannot move from ${from} to ${to}.`, { from, to });
}

/** Streams messages.jsonl and checks every line; 422 with line numbers when it is missing or invalid. */
async function assertValidMessages(blobs: BlobServiceClient, exampleId: string): Promise<void> {
  const blob = blobs.getContainerClient(EXAMPLES_CONTAINER).getBlobClient(messagesBlobName(exampleId));
  let body: NodeJS.ReadableStream | undefined;
  try {
    body = (await blob.download()).readableStreamBody;
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) {
      throw ApiError.validation(`examples/${messagesBlobName(exampleId)} does not exist; upload it before COMPLETED.`, {
        lines: [{ line: 0, message: 'The file does not exist.' }],
      });
    }
    throw error;
  }
  const check = await checkTrainingMessages((body ?? []) as AsyncIterable<Uint8Array>);
  if (!check.valid) {
    throw ApiError.validation(`messages.jsonl has ${check.errorCount} invalid line(s); the status is unchanged.`, {
      lines: check.errors,
      error_count: check.errorCount,
    });
  }
}

/**
 * The pipelines service's report on an example (it works on every user's examples, hence no owner check).
 * COMPLETED is accepted only with usage and a valid messages.jsonl; usage is recorded once, in the same
 * transaction as the move, so that a repeated or concurrent COMPLETED never records it twice.
 */
export async function applyPipelineUpdate(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  exampleId: string,
  update: PipelineUpdateBody,
): Promise<ExampleRow> {
  const current = await findExampleById(db, exampleId);
  if (!current) throw ApiError.notFound('No such example.');
  if (current.status === update.status) return current;
  if (!ALLOWED_FROM[update.status].includes(current.status)) throw illegal(current.status, update.status);

  if (update.status === 'COMPLETED') {
    if (!update.usage) {
      throw ApiError.badRequest('usage is required with COMPLETED.', {
        fields: [{ location: 'body', field: 'usage', message: 'Required with COMPLETED.' }],
      });
    }
    await assertValidMessages(blobs, exampleId);
  }

  const moved = await db.transaction().execute(async (trx) => {
    const row = await transitionExample(trx, exampleId, {
      from: ALLOWED_FROM[update.status],
      to: update.status,
      ...(update.status === 'FAILED' ? { error: update.error ?? 'The pipelines service reported a failure.' } : {}),
      ...(update.status === 'COMPLETED' ? { usage: update.usage } : {}),
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
    return row;
  });
  if (moved) return moved;
  // Someone else moved it meanwhile: the same move is a no-op, any other is illegal from where it now is.
  const now = await findExampleById(db, exampleId);
  if (!now) throw ApiError.notFound('No such example.');
  if (now.status === update.status) return now;
  throw illegal(now.status, update.status);
}
