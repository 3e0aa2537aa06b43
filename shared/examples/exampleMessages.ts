import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import type { Config } from '../config.js';
import { createBlobSasUrl, READ_PERMISSIONS } from '../storage/blobSas.js';
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

/** Download links for large message files live this long (the client fetches right away). */
export const MESSAGES_DOWNLOAD_URL_TTL_SECONDS = 15 * 60;

/**
 * A short-lived read-only URL of the messages file (a SAS on that one blob, `r` only), for files too large to
 * stream through the API comfortably; the client downloads straight from storage.
 */
export async function createMessagesDownloadUrl(blobs: BlobServiceClient, config: Config, exampleId: string) {
  const blobName = messagesBlobName(exampleId);
  let sizeBytes: number;
  try {
    sizeBytes = (await blobs.getContainerClient(EXAMPLES_CONTAINER).getBlobClient(blobName).getProperties()).contentLength ?? 0;
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) {
      throw ApiError.notFound('The messages of this example are no longer stored.');
    }
    throw error;
  }
  const signed = await createBlobSasUrl(blobs, config.storage, {
    containerName: EXAMPLES_CONTAINER,
    blobName,
    ttlSeconds: MESSAGES_DOWNLOAD_URL_TTL_SECONDS,
    httpsOnly: config.environment !== 'development' && config.environment !== 'test',
    permissions: READ_PERMISSIONS,
  });
  return { url: signed.url, expires_at: signed.expiresOn.toISOString(), size_bytes: sizeBytes };
}
