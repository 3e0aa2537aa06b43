import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import { Readable } from 'node:stream';
import { ApiError } from '../errors/apiError.js';
import { EXAMPLES_CONTAINER } from '../storage/layout.js';
import { messagesBlobName } from './exampleService.js';

export interface MessagesBlob {
  stream: Readable;
  sizeBytes: number;
}

/**
 * Opens `examples/<id>/messages.jsonl` as a stream (the SDK's download body: the file is never held whole in
 * memory). A completed example whose file is gone is a storage inconsistency: 404 rather than 500.
 */
export async function openMessagesBlob(blobs: BlobServiceClient, exampleId: string): Promise<MessagesBlob> {
  const blob = blobs.getContainerClient(EXAMPLES_CONTAINER).getBlobClient(messagesBlobName(exampleId));
  try {
    const download = await blob.download();
    if (!download.readableStreamBody || download.contentLength === undefined) {
      throw new Error('The storage service answered without a body.');
    }
    return { stream: download.readableStreamBody as Readable, sizeBytes: download.contentLength };
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) {
      throw ApiError.notFound('The messages of this example are no longer stored.');
    }
    throw error;
  }
}
