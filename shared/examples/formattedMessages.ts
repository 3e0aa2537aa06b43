import type { BlobServiceClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import { findToolsOfMap } from '../catalog/actionToolMapRepository.js';
import type { Database, DatasetFormat } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { MAX_CONVERSATION_BYTES, readExampleConversation } from '../trainingFormats/exampleConversation.js';
import { toTrainingRecord, trainingLine } from '../trainingFormats/trainingRecords.js';

/**
 * A completed example as one line of a provider's fine-tuning file, with the tool definitions of its action-tool
 * map (each tool a function named as the calls name it, with a JSON Schema of its parameters).
 */
export async function formatExampleMessages(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  example: { id: string; action_tool_map_id: string },
  format: DatasetFormat,
): Promise<string> {
  const conversation = await readExampleConversation(blobs, example.id);
  switch (conversation.kind) {
    case 'missing':
      throw ApiError.notFound('The messages of this example are no longer stored.');
    case 'too_large': {
      const message =
        `The messages are ${conversation.sizeBytes} bytes; examples over ${MAX_CONVERSATION_BYTES} bytes are ` +
        'not converted (no provider trains on one that large). format=raw serves them as stored.';
      throw ApiError.validation(message, { fields: [{ location: 'query', field: 'format', message }] });
    }
    case 'invalid':
      throw ApiError.conflict('The stored messages of this example are not valid training messages any more.', {
        lines: conversation.errors,
      });
    case 'ok':
      return trainingLine(toTrainingRecord(format, conversation.messages, await findToolsOfMap(db, example.action_tool_map_id)));
  }
}
