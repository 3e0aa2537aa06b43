import { ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { Config } from '../config.js';

/**
 * Storage clients from configuration: a connection string (Azurite locally) or, in Azure, the account URL with
 * the Function App's managed identity, so that no account key exists anywhere. ManagedIdentityCredential, not
 * DefaultAzureCredential: in production nothing but the app's identity may sign in (no environment variables or
 * CLI login found on the machine), and no chain of credentials is tried before it.
 */
export function createBlobServiceClient(storage: Config['storage']): BlobServiceClient {
  return 'connectionString' in storage
    ? BlobServiceClient.fromConnectionString(storage.connectionString)
    : new BlobServiceClient(storage.accountUrl, new ManagedIdentityCredential());
}

export function createQueueServiceClient(storage: Config['storage']): QueueServiceClient {
  if ('connectionString' in storage) return QueueServiceClient.fromConnectionString(storage.connectionString);
  // The queue endpoint sits beside the blob endpoint: https://<account>.blob... -> https://<account>.queue...
  const queueUrl = storage.accountUrl.replace('.blob.', '.queue.');
  return new QueueServiceClient(queueUrl, new ManagedIdentityCredential());
}
