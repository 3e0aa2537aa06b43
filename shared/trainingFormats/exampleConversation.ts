import type { BlobServiceClient } from '@azure/storage-blob';
import { ApiError } from '../errors/apiError.js';
import type { CanonicalMessage } from '../examples/conversationCanonicalizer.js';
import { openMessagesBlob } from '../examples/exampleMessages.js';
import { checkTrainingMessages } from '../examples/trainingMessages.js';
import type { LineError } from '../jsonl/jsonlObjectReader.js';

/**
 * One example's conversation becomes one line of a fine-tuning file, so it is held whole while it is converted.
 * This bounds that: no provider trains on an example anywhere near this size (the largest limit, Vertex AI's
 * 131,072 tokens, is some 0.5 MB of text), so a larger one is refused rather than converted.
 */
export const MAX_CONVERSATION_BYTES = 4 * 1024 * 1024;

export type ExampleConversation =
  | { kind: 'ok'; messages: CanonicalMessage[]; sizeBytes: number }
  | { kind: 'too_large'; sizeBytes: number }
  | { kind: 'missing' }
  | { kind: 'invalid'; errors: LineError[] };

/**
 * Reads a completed example's messages back, each line through the same canonical reading as at COMPLETED (so a
 * file written before that check existed reads the same way), without checking tool names against the map (it
 * may have changed since; the lint report says so).
 */
export async function readExampleConversation(
  blobs: BlobServiceClient,
  exampleId: string,
  limitBytes = MAX_CONVERSATION_BYTES,
): Promise<ExampleConversation> {
  let blob;
  try {
    blob = await openMessagesBlob(blobs, exampleId);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found') return { kind: 'missing' };
    throw error;
  }
  if (blob.sizeBytes > limitBytes) {
    blob.stream.destroy();
    return { kind: 'too_large', sizeBytes: blob.sizeBytes };
  }
  const messages: CanonicalMessage[] = [];
  const check = await checkTrainingMessages(blob.stream as AsyncIterable<Uint8Array>, {
    toolNames: null,
    digests: false,
    onMessage: (message) => messages.push(message),
  });
  if (!check.valid) return { kind: 'invalid', errors: check.errors };
  return { kind: 'ok', messages, sizeBytes: check.sizeBytes };
}

/** The digest of a stored example's conversation, read as it streams (any size); null when it cannot be read. */
export async function readConversationDigest(blobs: BlobServiceClient, exampleId: string): Promise<string | null> {
  let blob;
  try {
    blob = await openMessagesBlob(blobs, exampleId);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found') return null;
    throw error;
  }
  const check = await checkTrainingMessages(blob.stream as AsyncIterable<Uint8Array>, { toolNames: null });
  return check.valid ? check.conversationSha256 : null;
}
