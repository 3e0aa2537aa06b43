import type { BlobServiceClient } from '@azure/storage-blob';
import type { QueueServiceClient } from '@azure/storage-queue';

/*
 * Names shared with the infra (infra/*.bicep) and the pipelines service. `uploads` holds clients' uploads, written
 * only through upload URLs and emptied by the indexer (shared/sessions/sessionBlob.ts).
 */
export const UPLOADS_CONTAINER = 'uploads';
export const SESSIONS_CONTAINER = 'sessions';
export const EXAMPLES_CONTAINER = 'examples';
export const EXAMPLE_JOBS_QUEUE = 'example-jobs';
export const DATASETS_CONTAINER = 'datasets';
/** Messages `{ dataset_id }`: a queue-triggered function builds the dataset. */
export const DATASET_BUILDS_QUEUE = 'dataset-builds';
/**
 * Event Grid's BlobCreated events of `uploads`, which drive the indexer (shared/sessions/uploadEvents.ts). In Azure
 * the subscription puts them there; locally the host does, from what it sees uploaded.
 */
export const UPLOAD_EVENTS_QUEUE = 'upload-events';

/**
 * Creates the containers and queues if missing. In Azure the infra creates them; locally the host calls this at
 * start so that a fresh Azurite is usable.
 */
export async function ensureStorageLayout(blobs: BlobServiceClient, queues: QueueServiceClient): Promise<void> {
  await Promise.all([
    blobs.getContainerClient(UPLOADS_CONTAINER).createIfNotExists(),
    blobs.getContainerClient(SESSIONS_CONTAINER).createIfNotExists(),
    blobs.getContainerClient(EXAMPLES_CONTAINER).createIfNotExists(),
    blobs.getContainerClient(DATASETS_CONTAINER).createIfNotExists(),
    queues.getQueueClient(EXAMPLE_JOBS_QUEUE).createIfNotExists(),
    queues.getQueueClient(DATASET_BUILDS_QUEUE).createIfNotExists(),
    queues.getQueueClient(UPLOAD_EVENTS_QUEUE).createIfNotExists(),
  ]);
}
