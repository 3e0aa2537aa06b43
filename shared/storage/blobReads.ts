import type { BlobServiceClient } from '@azure/storage-blob';
import type { Readable } from 'node:stream';
import type { Config } from '../config.js';
import { createBlobSasUrl, READ_PERMISSIONS } from './blobSas.js';
import { isStorageStatus } from './storageErrors.js';

/** Download links live this long (the client fetches right away). */
export const DOWNLOAD_URL_TTL_SECONDS = 15 * 60;

export interface BlobStream {
  stream: Readable;
  sizeBytes: number;
}

export interface DownloadLink {
  url: string;
  expires_at: string;
  size_bytes: number;
}

const isNotFound = (error: unknown) => isStorageStatus(error, 404);

/** The blob as a stream (the SDK's download body: never held whole in memory), or null when it does not exist. */
export async function openBlobStream(blobs: BlobServiceClient, container: string, blobName: string): Promise<BlobStream | null> {
  try {
    const download = await blobs.getContainerClient(container).getBlobClient(blobName).download();
    if (!download.readableStreamBody || download.contentLength === undefined) {
      throw new Error('The storage service answered without a body.');
    }
    return { stream: download.readableStreamBody as Readable, sizeBytes: download.contentLength };
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/**
 * A short-lived read-only URL of one blob (a SAS on that blob alone, `r` only), for files a client should fetch
 * straight from storage; null when the blob does not exist.
 */
export async function createDownloadLink(
  blobs: BlobServiceClient,
  config: Config,
  container: string,
  blobName: string,
): Promise<DownloadLink | null> {
  let sizeBytes: number;
  try {
    sizeBytes = (await blobs.getContainerClient(container).getBlobClient(blobName).getProperties()).contentLength ?? 0;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  const signed = await createBlobSasUrl(blobs, config.storage, {
    containerName: container,
    blobName,
    ttlSeconds: DOWNLOAD_URL_TTL_SECONDS,
    httpsOnly: config.environment !== 'development' && config.environment !== 'test',
    permissions: READ_PERMISSIONS,
  });
  return { url: signed.url, expires_at: signed.expiresOn.toISOString(), size_bytes: sizeBytes };
}
