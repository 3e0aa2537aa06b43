import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { DATASETS_CONTAINER, EXAMPLES_CONTAINER, SESSIONS_CONTAINER, UPLOADS_CONTAINER } from './layout.js';

/** The containers a user's files live in, for the code that deletes them (deletion, retention, erasure). */
export interface FileStores {
  sessions: ContainerClient;
  uploads: ContainerClient;
  examples: ContainerClient;
  datasets: ContainerClient;
}

export function fileStoresOf(service: BlobServiceClient): FileStores {
  return {
    sessions: service.getContainerClient(SESSIONS_CONTAINER),
    uploads: service.getContainerClient(UPLOADS_CONTAINER),
    examples: service.getContainerClient(EXAMPLES_CONTAINER),
    datasets: service.getContainerClient(DATASETS_CONTAINER),
  };
}
