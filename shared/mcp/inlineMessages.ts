import type { BlobServiceClient } from '@azure/storage-blob';
import { openMessagesBlob } from '../examples/exampleMessages.js';

/**
 * The most bytes of messages.jsonl an MCP answer carries inline. A tool result goes into the model's context
 * (and is sent twice, as structure and as text); 256 KiB is already some 60k tokens. Larger files are for the REST
 * download, which streams.
 */
export const MAX_INLINE_MESSAGES_BYTES = 256 * 1024;

export type InlineMessages =
  | { inline: true; sizeBytes: number; text: string }
  | { inline: false; sizeBytes: number };

/**
 * The messages of a completed example as text when they fit the limit. The blob is opened as a stream (the REST
 * download's own openMessagesBlob) and its size read first, so a file over the limit is never read; one that
 * grows while read stops at the limit.
 */
export async function readMessagesInline(
  blobs: BlobServiceClient,
  exampleId: string,
  limitBytes = MAX_INLINE_MESSAGES_BYTES,
): Promise<InlineMessages> {
  const blob = await openMessagesBlob(blobs, exampleId);
  if (blob.sizeBytes > limitBytes) {
    blob.stream.destroy();
    return { inline: false, sizeBytes: blob.sizeBytes };
  }
  const chunks: Buffer[] = [];
  let read = 0;
  // Leaving the loop early (return) destroys the stream.
  for await (const chunk of blob.stream as AsyncIterable<Buffer>) {
    read += chunk.length;
    if (read > limitBytes) return { inline: false, sizeBytes: Math.max(read, blob.sizeBytes) };
    chunks.push(chunk);
  }
  return { inline: true, sizeBytes: read, text: Buffer.concat(chunks).toString('utf8') };
}

/** The lines of messages.jsonl as objects (the pipeline update validated each line before COMPLETED). */
export function parseJsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}
