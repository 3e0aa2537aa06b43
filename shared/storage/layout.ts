import type { BlobServiceClient } from '@azure/storage-blob';
import type { QueueServiceClient } from '@azure/storage-queue';

/** Names shared with the infra (infra/*.bicep) and the pipelines service. */
export const SESSIONS_CONTAINER = 'sessions';
export const EXAMPLES_CONTAINER = 'examples';
export const EXAMPLE_JOBS_QUEUE = 'example-jobs';

/**
 * Creates the containers and queue if missing. In Azure the infra creates them; locally the host calls this at
 * start so that a fresh Azurite is usable.
 */
export async function ensureStorageLayout(blobs: BlobServiceClient, queues: QueueServiceClient): Promise<void> {
  await Promise.all([
    blobs.getContainerClient(SESSIONS_CONTAINER).createIfNotExists(),
    blobs.getContainerClient(EXAMPLES_CONTAINER).createIfNotExists(),
    queues.getQueueClient(EXAMPLE_JOBS_QUEUE).createIfNotExists(),
  ]);
}
