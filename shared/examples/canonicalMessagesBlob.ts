import type { BlobServiceClient, BlockBlobClient } from '@azure/storage-blob';
import { isStorageStatus } from '../storage/storageErrors.js';
import { ApiError } from '../errors/apiError.js';
import { EXAMPLES_CONTAINER } from '../storage/layout.js';
import { StreamedBlobUpload } from '../storage/streamedBlobUpload.js';
import { messagesBlobName } from './exampleService.js';
import { checkTrainingMessages, type MessagesCheck } from './trainingMessages.js';

/** A concurrent report may rewrite the file between our read and our commit: read again, this many times. */
const MAX_ATTEMPTS = 3;

export interface CanonicalMessages {
  conversationSha256: string;
  messageCount: number;
}

function missing(exampleId: string): ApiError {
  return ApiError.validation(`examples/${messagesBlobName(exampleId)} does not exist; upload it before COMPLETED.`, {
    lines: [{ line: 0, message: 'The file does not exist.' }],
  });
}

function invalid(check: MessagesCheck): ApiError {
  return ApiError.validation(`messages.jsonl has ${check.errorCount} invalid line(s); the status is unchanged.`, {
    lines: check.errors,
    error_count: check.errorCount,
  });
}

const isStatus = isStorageStatus;

async function open(blob: BlockBlobClient, exampleId: string, ifMatch?: string) {
  try {
    const download = await blob.download(0, undefined, ifMatch ? { conditions: { ifMatch } } : {});
    return { body: (download.readableStreamBody ?? []) as AsyncIterable<Uint8Array>, etag: download.etag ?? '' };
  } catch (error) {
    if (isStatus(error, 404)) throw missing(exampleId);
    throw error;
  }
}

/** The source's chunks, each only once the upload has room: the reader never runs ahead of the upload. */
async function* pacedBy(source: AsyncIterable<Uint8Array>, upload: StreamedBlobUpload): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    await upload.room();
    yield chunk;
  }
}

/**
 * Checks `examples/<id>/messages.jsonl` line by line as it streams (422 with line numbers when it is missing or
 * invalid) and stores it in canonical form: a file already canonical is left as it is (one read); any other is
 * read again and rewritten as it streams, the new blocks committed only at the end and only if the blob is still
 * the one that was checked (If-Match on its ETag), so a failure or a concurrent writer leaves the old file intact.
 */
export async function canonicalizeMessagesBlob(
  blobs: BlobServiceClient,
  exampleId: string,
  toolNames: ReadonlySet<string>,
): Promise<CanonicalMessages> {
  const blob = blobs.getContainerClient(EXAMPLES_CONTAINER).getBlockBlobClient(messagesBlobName(exampleId));
  for (let attempt = 1; ; attempt++) {
    const first = await open(blob, exampleId);
    const check = await checkTrainingMessages(first.body, { toolNames });
    if (!check.valid) throw invalid(check);
    const result = { conversationSha256: check.conversationSha256, messageCount: check.messageCount };
    if (!check.changed) return result;
    try {
      await rewrite(blob, exampleId, first.etag, toolNames);
      return result;
    } catch (error) {
      // 412: the blob changed since it was checked (another report rewrote it, or the service uploaded again).
      if (!isStatus(error, 412) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

async function rewrite(blob: BlockBlobClient, exampleId: string, etag: string, toolNames: ReadonlySet<string>) {
  const source = await open(blob, exampleId, etag);
  const upload = new StreamedBlobUpload(blob, { conditions: { ifMatch: etag } });
  try {
    const check = await checkTrainingMessages(pacedBy(source.body, upload), {
      toolNames,
      onCanonicalLine: (line) => upload.push(line),
    });
    if (!check.valid) throw invalid(check);
  } catch (error) {
    // The upload's own failure (a 412 that a retry handles) explains more than what it caused here.
    throw (await upload.abort(error instanceof Error ? error : new Error(String(error)))) ?? error;
  }
  await upload.finish();
}
