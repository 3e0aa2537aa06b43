import { randomUUID } from 'node:crypto';
import { BlobServiceClient, type BlobDownloadResponseParsed, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { readAppSetting, resolveAppSettingExpressions, storageConnectionString } from './appSettings.js';
import { parseBlobPath, type BlobPathPattern } from './blobPath.js';
import { BlobReceipts, HOSTS_CONTAINER, type ReceiptRef } from './blobReceipts.js';
import type { RpcTypedData } from './coreTypes.js';
import type { RegisteredFunction } from './functionsCore.js';
import type { HostLogger } from './hostLog.js';
import type { FunctionInvoker, InvocationInput } from './invoker.js';
import { startPoller, type Poller } from './poller.js';
import { delay, statusCodeOf, type TriggerListener } from './triggerListener.js';

/**
 * Blob triggers by container scan, like the `LogsAndContainerScan` source (the `EventGrid` source is handled the
 * same way here; no Event Grid locally). Every poll lists the container under the path's literal prefix; a blob
 * whose ETag this function has no complete receipt for is downloaded and passed to the function, blobs that
 * existed before start included. Failures are retried up to 5 attempts in all (Azure's maxDequeueCount for blob
 * trigger messages), then a message goes to the `webjobs-blobtrigger-poison` queue and the receipt is completed so
 * the blob is not retried forever (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#poison-blobs).
 */

export const BLOB_POISON_QUEUE = 'webjobs-blobtrigger-poison';
const MAX_ATTEMPTS = 5;
const RETRY_DELAY_MS = 200;
/** Blobs handled at once per function (Azure processes blob trigger messages in batches of 16). */
const MAX_CONCURRENT = 16;

export interface BlobTriggerOptions {
  invoker: FunctionInvoker;
  logger: HostLogger;
  hostId: string;
  pollIntervalMs: number;
}

interface FoundBlob {
  name: string;
  etag: string;
}

export class BlobTriggerListener implements TriggerListener {
  readonly functionName: string;
  readonly #fn: RegisteredFunction;
  readonly #options: BlobTriggerOptions;
  #pattern: BlobPathPattern | undefined;
  #container: ContainerClient | undefined;
  #receipts: BlobReceipts | undefined;
  #hostConnection = '';
  #poller: Poller | undefined;
  #stopping = false;
  #containerMissingLogged = false;
  /** Last ETag handled per blob name, so that a poll does not re-read receipts it already knows are complete. */
  readonly #handled = new Map<string, string>();
  /** Blob names with a job running: one invocation per blob at a time. */
  readonly #jobs = new Map<string, Promise<void>>();

  constructor(fn: RegisteredFunction, options: BlobTriggerOptions) {
    this.#fn = fn;
    this.functionName = fn.name;
    this.#options = options;
  }

  get #functionId(): string {
    // The WebJobs function id the host uses in receipts and poison messages.
    return `Host.Functions.${this.#fn.name}`;
  }

  async start(): Promise<void> {
    const path = resolveAppSettingExpressions(String(this.#fn.trigger.path ?? ''));
    this.#pattern = parseBlobPath(path);
    const connection = storageConnectionString(this.#fn.trigger.connection);
    // Receipts and the poison queue live in the host's own account (AzureWebJobsStorage), as in Azure.
    this.#hostConnection = readAppSetting('AzureWebJobsStorage') ?? connection;
    this.#container = BlobServiceClient.fromConnectionString(connection).getContainerClient(this.#pattern.container);
    this.#receipts = new BlobReceipts(
      BlobServiceClient.fromConnectionString(this.#hostConnection).getContainerClient(HOSTS_CONTAINER),
      this.#options.hostId,
    );
    this.#poller = startPoller(
      this.#options.pollIntervalMs,
      () => this.#scan(),
      (error) => this.#options.logger.host('warning', `Blob scan for ${this.functionName} failed: ${String(error)}`),
    );
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#poller?.stop();
    await Promise.allSettled([...this.#jobs.values()]);
  }

  async invokeFromAdmin(input: string): Promise<void> {
    const slash = input.indexOf('/');
    if (slash <= 0) throw new Error(`Blob trigger input must be a blob path "container/name", got "${input}".`);
    const containerName = input.slice(0, slash);
    const blobName = input.slice(slash + 1);
    const service = BlobServiceClient.fromConnectionString(storageConnectionString(this.#fn.trigger.connection));
    const invocationInput = await this.#buildInput(service.getContainerClient(containerName), blobName, undefined);
    await this.#options.invoker.invoke(this.#fn, invocationInput, {
      reason: 'This function was programmatically called via the host APIs.',
    });
  }

  async #scan(): Promise<boolean> {
    const container = this.#container;
    const pattern = this.#pattern;
    if (!container || !pattern) return false;
    try {
      for await (const item of container.listBlobsFlat({ prefix: pattern.prefix || undefined })) {
        if (this.#stopping) break;
        if (this.#jobs.size >= MAX_CONCURRENT) break;
        // List Blobs answers ETags without quotes, blob GETs with them (as in Azure); keep the quoted form.
      const etag = `"${item.properties.etag.replace(/"/g, '')}"`;
      if (!pattern.match(item.name) || this.#handled.get(item.name) === etag || this.#jobs.has(item.name)) continue;
        this.#startJob({ name: item.name, etag });
      }
      this.#containerMissingLogged = false;
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
      if (!this.#containerMissingLogged) {
        this.#options.logger.host('debug', `Container "${pattern.container}" does not exist yet (${this.functionName}).`);
        this.#containerMissingLogged = true;
      }
    }
    return false;
  }

  #startJob(blob: FoundBlob): void {
    const job = this.#process(blob)
      .catch((error: unknown) =>
        this.#options.logger.host('warning', `Blob trigger ${this.functionName} on ${blob.name}: ${String(error)}`),
      )
      .finally(() => this.#jobs.delete(blob.name));
    this.#jobs.set(blob.name, job);
  }

  async #process(blob: FoundBlob): Promise<void> {
    const container = this.#container;
    const receipts = this.#receipts;
    if (!container || !receipts) return;
    const ref: ReceiptRef = {
      functionId: this.#functionId,
      etag: blob.etag,
      container: container.containerName,
      blobName: blob.name,
    };
    if (await receipts.isComplete(ref)) {
      this.#handled.set(blob.name, blob.etag);
      return;
    }
    const acquired = await receipts.tryAcquire(ref);
    if (acquired.status === 'complete') this.#handled.set(blob.name, blob.etag);
    if (acquired.status !== 'acquired') return;

    const lease = acquired.lease;
    try {
      for (let attempt = 1; ; attempt++) {
        let input: InvocationInput;
        try {
          input = await this.#buildInput(container, blob.name, blob.etag);
        } catch (error) {
          // Deleted (404) or overwritten (412) since the scan: this ETag is gone, the new one has its own turn.
          const status = statusCodeOf(error);
          if (status === 404 || status === 412) break;
          throw error;
        }
        try {
          await this.#options.invoker.invoke(this.#fn, input, {
            reason: `New blob detected(LogsAndContainerScan): ${container.containerName}/${blob.name}`,
          });
          break;
        } catch {
          // The invoker has logged the failure.
          if (attempt >= MAX_ATTEMPTS) {
            await this.#poison(container.containerName, blob);
            break;
          }
          if (this.#stopping) return; // leave the receipt incomplete: the next start retries
          await delay(RETRY_DELAY_MS);
        }
      }
      await lease.complete();
      this.#handled.set(blob.name, blob.etag);
    } finally {
      await lease.release();
    }
  }

  async #poison(containerName: string, blob: FoundBlob): Promise<void> {
    const queue = QueueServiceClient.fromConnectionString(this.#hostConnection).getQueueClient(BLOB_POISON_QUEUE);
    await queue.createIfNotExists();
    const message = {
      Type: 'BlobTrigger',
      FunctionId: this.#functionId,
      BlobType: 'BlockBlob',
      ContainerName: containerName,
      BlobName: blob.name,
      ETag: blob.etag,
    };
    // Queue messages the host writes are base64 (the storage extension's default encoding).
    await queue.sendMessage(Buffer.from(JSON.stringify(message), 'utf8').toString('base64'));
    this.#options.logger.forFunction(
      this.functionName,
      'error',
      'system',
      `Blob '${containerName}/${blob.name}' will be skipped for function '${this.functionName}' because this blob with ETag '${blob.etag}' has failed the maximum number of attempts (${MAX_ATTEMPTS}). A message has been put on the '${BLOB_POISON_QUEUE}' queue.`,
    );
  }

  async #buildInput(container: ContainerClient, blobName: string, etag: string | undefined): Promise<InvocationInput> {
    const blobClient = container.getBlobClient(blobName);
    const download = await blobClient.download(0, undefined, etag ? { conditions: { ifMatch: etag } } : {});
    const content = await readAll(download);
    const tokens = this.#pattern?.match(blobName) ?? {};
    const properties = {
      BlobType: 'BlockBlob',
      ContentLength: download.contentLength ?? content.length,
      Length: download.contentLength ?? content.length,
      ContentType: download.contentType,
      ContentEncoding: download.contentEncoding,
      ContentMD5: download.contentMD5 ? Buffer.from(download.contentMD5).toString('base64') : undefined,
      ETag: download.etag,
      LastModified: download.lastModified?.toISOString(),
      CreatedOn: download.createdOn?.toISOString(),
    };
    const triggerMetadata: Record<string, RpcTypedData> = {
      BlobTrigger: { string: `${container.containerName}/${blobName}` },
      Uri: { string: blobClient.url },
      Properties: { json: JSON.stringify(properties) },
      Metadata: { json: JSON.stringify(download.metadata ?? {}) },
      sys: {
        json: JSON.stringify({ MethodName: this.#fn.name, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }),
      },
    };
    for (const [token, value] of Object.entries(tokens)) triggerMetadata[token] = { string: value };
    const data: RpcTypedData = this.#fn.trigger.dataType === 'string' ? { string: content.toString('utf8') } : { bytes: content };
    return { inputData: [{ name: this.#fn.triggerBindingName, data }], triggerMetadata };
  }
}

async function readAll(download: BlobDownloadResponseParsed): Promise<Buffer> {
  const body = download.readableStreamBody;
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
