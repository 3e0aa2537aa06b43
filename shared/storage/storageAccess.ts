import type { BlobServiceClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { Config } from '../config.js';
import { lazily } from '../runtime/lazily.js';
import { fileStoresOf, type FileStores } from './fileStores.js';

/** A process's storage clients (shared/runtime/appDeps.ts holds the one set). */
export interface StorageAccess {
  blobs(): Promise<BlobServiceClient>;
  queue(name: string): Promise<QueueClient>;
  /** The containers a user's files live in (deletion, retention, erasure). */
  fileStores(): Promise<FileStores>;
}

/**
 * Storage clients made on first use: ./clients.ts (and with it the storage SDKs and, in Azure, @azure/identity) is
 * imported then, not when the functions entry loads (shared/runtime/lazily.ts).
 */
export function storageAccessOf(storage: Config['storage']): StorageAccess {
  const clients = lazily(() => import('./clients.js'));
  const blobs = lazily(async (): Promise<BlobServiceClient> => (await clients()).createBlobServiceClient(storage));
  const queues = lazily(async () => (await clients()).createQueueServiceClient(storage));
  return {
    blobs,
    queue: async (name) => (await queues()).getQueueClient(name),
    fileStores: async () => fileStoresOf(await blobs()),
  };
}
