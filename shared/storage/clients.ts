import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { getConfig, type Config } from '../config.js';

/**
 * Storage clients from configuration: a connection string (Azurite locally) or, in Azure, the account URL with
 * the function's managed identity (DefaultAzureCredential), so that no account key exists anywhere.
 */
export function createBlobServiceClient(storage: Config['storage']): BlobServiceClient {
  return 'connectionString' in storage
    ? BlobServiceClient.fromConnectionString(storage.connectionString)
    : new BlobServiceClient(storage.accountUrl, new DefaultAzureCredential());
}

export function createQueueServiceClient(storage: Config['storage']): QueueServiceClient {
  if ('connectionString' in storage) return QueueServiceClient.fromConnectionString(storage.connectionString);
  // The queue endpoint sits beside the blob endpoint: https://<account>.blob... -> https://<account>.queue...
  const queueUrl = storage.accountUrl.replace('.blob.', '.queue.');
  return new QueueServiceClient(queueUrl, new DefaultAzureCredential());
}

let blobClient: BlobServiceClient | undefined;
let queueClient: QueueServiceClient | undefined;

export function getBlobServiceClient(): BlobServiceClient {
  blobClient ??= createBlobServiceClient(getConfig().storage);
  return blobClient;
}

export function getQueueServiceClient(): QueueServiceClient {
  queueClient ??= createQueueServiceClient(getConfig().storage);
  return queueClient;
}
