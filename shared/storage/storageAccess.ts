import type { BlobServiceClient } from '@azure/storage-blob';
import type { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { getConfig } from '../config.js';
import { lazily } from '../runtime/lazily.js';
import { fileStoresOf, type FileStores } from './fileStores.js';

/**
 * The process's storage clients, made on first use: ./clients.ts (and with it the storage SDKs and, in Azure,
 * @azure/identity) is imported then, not when the functions entry loads (shared/runtime/lazily.ts).
 */
const clients = lazily(() => import('./clients.js'));

export const getBlobServiceClient = lazily(
  async (): Promise<BlobServiceClient> => (await clients()).createBlobServiceClient(getConfig().storage),
);

export const getQueueServiceClient = lazily(
  async (): Promise<QueueServiceClient> => (await clients()).createQueueServiceClient(getConfig().storage),
);

export async function getQueueClient(name: string): Promise<QueueClient> {
  return (await getQueueServiceClient()).getQueueClient(name);
}

/** The containers a user's files live in (deletion, retention, erasure). */
export async function getFileStores(): Promise<FileStores> {
  return fileStoresOf(await getBlobServiceClient());
}
