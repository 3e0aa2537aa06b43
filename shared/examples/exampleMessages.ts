import type { BlobServiceClient } from '@azure/storage-blob';
import type { Config } from '../config.js';
import { ApiError } from '../errors/apiError.js';
import {
  createDownloadLink,
  DOWNLOAD_URL_TTL_SECONDS,
  openBlobStream,
  type BlobStream,
  type DownloadLink,
} from '../storage/blobReads.js';
import { EXAMPLES_CONTAINER } from '../storage/layout.js';
import { messagesBlobName } from './exampleService.js';

export type MessagesBlob = BlobStream;

const gone = () => ApiError.notFound('The messages of this example are no longer stored.');

/**
 * Opens `examples/<id>/messages.jsonl` as a stream. A completed example whose file is gone is a storage
 * inconsistency: 404 rather than 500.
 */
export async function openMessagesBlob(blobs: BlobServiceClient, exampleId: string): Promise<MessagesBlob> {
  const blob = await openBlobStream(blobs, EXAMPLES_CONTAINER, messagesBlobName(exampleId));
  if (!blob) throw gone();
  return blob;
}

/** Download links for large message files live this long. */
export const MESSAGES_DOWNLOAD_URL_TTL_SECONDS = DOWNLOAD_URL_TTL_SECONDS;

/** A short-lived read-only URL of the messages file, for files too large to stream through the API comfortably. */
export async function createMessagesDownloadUrl(blobs: BlobServiceClient, config: Config, exampleId: string): Promise<DownloadLink> {
  const link = await createDownloadLink(blobs, config, EXAMPLES_CONTAINER, messagesBlobName(exampleId));
  if (!link) throw gone();
  return link;
}
