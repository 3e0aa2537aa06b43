import type { BlobServiceClient } from '@azure/storage-blob';
import type { Config } from '../config.js';
import { createDownloadLink, openBlobStream, type BlobStream, type DownloadLink } from '../storage/blobReads.js';
import { DATASETS_CONTAINER } from '../storage/layout.js';
import { DATASET_FILE_NAMES, type DatasetFileName } from './datasetSchemas.js';

/** `datasets/<dataset-id>/train.jsonl` and `validation.jsonl`. */
export function datasetBlobName(datasetId: string, file: DatasetFileName): string {
  return `${datasetId}/${file}`;
}

export function datasetFileBlob(blobs: BlobServiceClient, datasetId: string, file: DatasetFileName) {
  return blobs.getContainerClient(DATASETS_CONTAINER).getBlockBlobClient(datasetBlobName(datasetId, file));
}

export async function deleteDatasetFiles(blobs: BlobServiceClient, datasetId: string): Promise<void> {
  await Promise.all(DATASET_FILE_NAMES.map((file) => datasetFileBlob(blobs, datasetId, file).deleteIfExists()));
}

export function openDatasetFile(blobs: BlobServiceClient, datasetId: string, file: DatasetFileName): Promise<BlobStream | null> {
  return openBlobStream(blobs, DATASETS_CONTAINER, datasetBlobName(datasetId, file));
}

export function createDatasetFileLink(
  blobs: BlobServiceClient,
  config: Config,
  datasetId: string,
  file: DatasetFileName,
): Promise<DownloadLink | null> {
  return createDownloadLink(blobs, config, DATASETS_CONTAINER, datasetBlobName(datasetId, file));
}
