import { randomUUID } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { readAppSetting, resolveAppSettingExpressions, storageConnectionString } from './appSettings.js';
import { BlobReceipts, HOSTS_CONTAINER, type ReceiptRef } from './blobReceipts.js';
import type { RegisteredFunction } from './functionsCore.js';
import type { HostLogger } from './hostLog.js';
import { startPoller, type Poller } from './poller.js';
import { statusCodeOf } from './triggerListener.js';

/**
 * Event Grid, locally, for the one case the Functions host can stand in for: a storage account's system topic whose
 * subscription delivers `Microsoft.Storage.BlobCreated` events to a Storage queue
 * (https://learn.microsoft.com/azure/event-grid/handler-storage-queues), so that the queue trigger that reads them
 * runs here as in Azure. The subscriptions are an app setting, `LOCAL_EVENT_GRID_SUBSCRIPTIONS`, a JSON array of
 * `{ name, queue, subjectBeginsWith, subjectEndsWith?, includedEventTypes? }` with the meaning of the Event Grid
 * subscription's own fields; a subscription runs when a queue trigger function reads its queue, on that function's
 * storage connection (a system topic's events and its queue live in one account here).
 *
 * Events come from what the host sees: the container that `subjectBeginsWith` names is listed every poll, and each
 * committed blob version (name and ETag) not yet delivered becomes one message in the Event Grid schema
 * (https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage), base64-encoded as Event Grid writes
 * them. What was delivered is kept as receipts in `azure-webjobs-hosts` (`EventGrid.<subscription>` in place of a
 * function id), so that a restart does not deliver again, and one host does not deliver what another one did.
 *
 * Limits: BlobCreated only (no BlobDeleted and the rest); a blob written and overwritten between two polls yields one
 * event, for the version seen; `data.api` is always PutBlockList (a listing does not tell Put Blob from it); no
 * retry policy, dead-lettering, batching or CloudEvents schema.
 */

export const EVENT_GRID_SUBSCRIPTIONS_SETTING = 'LOCAL_EVENT_GRID_SUBSCRIPTIONS';
const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';

const subscriptionSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, 'must be 3 to 64 letters, digits or hyphens (Event Grid subscription names)'),
  queue: z.string().min(3),
  subjectBeginsWith: z.string(),
  subjectEndsWith: z.string().default(''),
  includedEventTypes: z.array(z.string()).default([BLOB_CREATED]),
});

export type BlobEventSubscription = z.infer<typeof subscriptionSchema>;

/** The subscriptions the setting describes; an unreadable setting stops the start, naming it. */
export function readBlobEventSubscriptions(): BlobEventSubscription[] {
  const text = readAppSetting(EVENT_GRID_SUBSCRIPTIONS_SETTING);
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`App setting ${EVENT_GRID_SUBSCRIPTIONS_SETTING} is not JSON (an array of Event Grid subscriptions).`);
  }
  const parsed = z.array(subscriptionSchema).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`App setting ${EVENT_GRID_SUBSCRIPTIONS_SETTING}: ${issue?.path.join('.')} ${issue?.message}.`);
  }
  return parsed.data;
}

/** The container and blob name prefix a subscription's subject filter names. */
function subjectScope(subscription: BlobEventSubscription): { container: string; prefix: string } {
  const match = /^\/blobServices\/default\/containers\/([a-z0-9][a-z0-9-]{2,62})\/blobs\/(.*)$/s.exec(subscription.subjectBeginsWith);
  if (!match) {
    throw new Error(
      `Event Grid subscription ${subscription.name}: subjectBeginsWith must name a container ` +
        `("/blobServices/default/containers/<container>/blobs/..."): the local host lists that container.`,
    );
  }
  return { container: match[1] as string, prefix: match[2] as string };
}

/** Queue triggers that read the subscription's queue: they decide whether, and on which account, it runs. */
export function readersOf(subscription: BlobEventSubscription, functions: Iterable<RegisteredFunction>): RegisteredFunction[] {
  return [...functions].filter(
    (fn) =>
      fn.trigger.type.toLowerCase() === 'queuetrigger' &&
      resolveAppSettingExpressions(String(fn.trigger.queueName ?? '')).toLowerCase() === subscription.queue.toLowerCase(),
  );
}

export interface BlobEventSourceOptions {
  logger: HostLogger;
  hostId: string;
  pollIntervalMs: number;
}

export class BlobEventSubscriptionSource {
  readonly #subscription: BlobEventSubscription;
  readonly #options: BlobEventSourceOptions;
  readonly #container: ContainerClient;
  readonly #queue: QueueClient;
  readonly #receipts: BlobReceipts;
  readonly #accountName: string;
  readonly #prefix: string;
  #queueReady: Promise<unknown> | undefined;
  #poller: Poller | undefined;
  #stopping = false;
  #containerMissingLogged = false;
  /** Last ETag delivered per blob name, so that a poll does not look up receipts it knows are there. */
  readonly #delivered = new Map<string, string>();

  constructor(subscription: BlobEventSubscription, connection: unknown, options: BlobEventSourceOptions) {
    this.#subscription = subscription;
    this.#options = options;
    const { container, prefix } = subjectScope(subscription);
    this.#prefix = prefix;
    const connectionString = storageConnectionString(connection);
    const blobs = BlobServiceClient.fromConnectionString(connectionString);
    this.#accountName = blobs.accountName;
    this.#container = blobs.getContainerClient(container);
    this.#queue = QueueServiceClient.fromConnectionString(connectionString).getQueueClient(subscription.queue.toLowerCase());
    const hostConnection = readAppSetting('AzureWebJobsStorage') ?? connectionString;
    this.#receipts = new BlobReceipts(
      BlobServiceClient.fromConnectionString(hostConnection).getContainerClient(HOSTS_CONTAINER),
      options.hostId,
    );
    const unsupported = subscription.includedEventTypes.filter((type) => type !== BLOB_CREATED);
    if (unsupported.length > 0) {
      options.logger.host('warning', `Event Grid subscription ${subscription.name}: only ${BLOB_CREATED} is delivered locally, not ${unsupported.join(', ')}.`);
    }
  }

  get description(): string {
    const s = this.#subscription;
    return `${s.name}: ${BLOB_CREATED} of ${this.#container.containerName}/${this.#prefix}*${s.subjectEndsWith} -> queue ${this.#queue.name}`;
  }

  async start(): Promise<void> {
    if (!this.#subscription.includedEventTypes.includes(BLOB_CREATED)) return;
    this.#poller = startPoller(
      this.#options.pollIntervalMs,
      () => this.#scan(),
      (error) => this.#options.logger.host('warning', `Event Grid subscription ${this.#subscription.name} failed: ${String(error)}`),
    );
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#poller?.stop();
  }

  async #scan(): Promise<boolean> {
    const seen = new Set<string>();
    try {
      for await (const item of this.#container.listBlobsFlat({ prefix: this.#prefix || undefined })) {
        if (this.#stopping) return false;
        if (!item.name.endsWith(this.#subscription.subjectEndsWith)) continue;
        seen.add(item.name);
        // List Blobs answers ETags without quotes, blob requests with them; receipts use the bare form.
        const etag = item.properties.etag.replace(/"/g, '');
        if (this.#delivered.get(item.name) === etag) continue;
        await this.#deliver(item.name, etag, item.properties);
      }
      this.#containerMissingLogged = false;
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
      if (!this.#containerMissingLogged) {
        this.#options.logger.host('debug', `Container "${this.#container.containerName}" does not exist yet (${this.#subscription.name}).`);
        this.#containerMissingLogged = true;
      }
      return false;
    }
    // Blobs gone since (the indexer deletes what it indexed) need no memory.
    for (const name of this.#delivered.keys()) if (!seen.has(name)) this.#delivered.delete(name);
    return false;
  }

  async #deliver(
    name: string,
    etag: string,
    properties: { lastModified: Date; contentLength?: number; contentType?: string; blobType?: string },
  ): Promise<void> {
    const ref: ReceiptRef = { functionId: `EventGrid.${this.#subscription.name}`, etag, container: this.#container.containerName, blobName: name };
    if (await this.#receipts.isComplete(ref)) {
      this.#delivered.set(name, etag);
      return;
    }
    const acquired = await this.#receipts.tryAcquire(ref);
    if (acquired.status === 'complete') this.#delivered.set(name, etag);
    if (acquired.status !== 'acquired') return;
    try {
      this.#queueReady ??= this.#queue.createIfNotExists().catch((error: unknown) => {
        this.#queueReady = undefined;
        throw error;
      });
      await this.#queueReady;
      const event = this.#blobCreatedEvent(name, etag, properties);
      await this.#queue.sendMessage(Buffer.from(JSON.stringify(event), 'utf8').toString('base64'));
      await acquired.lease.complete();
      this.#delivered.set(name, etag);
      this.#options.logger.host('debug', `Event Grid ${this.#subscription.name}: BlobCreated ${this.#container.containerName}/${name} (${etag}) -> ${this.#queue.name}`);
    } finally {
      await acquired.lease.release();
    }
  }

  #blobCreatedEvent(
    name: string,
    etag: string,
    properties: { lastModified: Date; contentLength?: number; contentType?: string; blobType?: string },
  ): Record<string, unknown> {
    const container = this.#container.containerName;
    return {
      topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/${this.#accountName}`,
      subject: `/blobServices/default/containers/${container}/blobs/${name}`,
      eventType: BLOB_CREATED,
      id: randomUUID(),
      eventTime: properties.lastModified.toISOString(),
      data: {
        api: 'PutBlockList',
        clientRequestId: randomUUID(),
        requestId: randomUUID(),
        eTag: etag,
        contentType: properties.contentType ?? 'application/octet-stream',
        contentLength: properties.contentLength ?? 0,
        blobType: properties.blobType ?? 'BlockBlob',
        url: this.#container.getBlobClient(name).url,
        sequencer: properties.lastModified.getTime().toString(16).padStart(32, '0'),
        storageDiagnostics: { batchId: randomUUID() },
      },
      dataVersion: '',
      metadataVersion: '1',
    };
  }
}
