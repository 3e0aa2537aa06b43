import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { statusCodeOf } from './triggerListener.js';

/**
 * Blob receipts, as the Functions host keeps them (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#blob-receipts):
 * an empty blob in container `azure-webjobs-hosts` of the host's storage account, named
 * `blobreceipts/<hostId>/<function id>/<ETag without quotes>/<container>/<blob name>`. A receipt is created
 * "incomplete" and leased by the process that runs the function; it is completed once the blob has been handled
 * (or poisoned). A complete receipt means never again for that function and ETag, across restarts and processes;
 * an incomplete one whose lease has lapsed (a process died) is picked up again.
 */

export const HOSTS_CONTAINER = 'azure-webjobs-hosts';
const INCOMPLETE_KEY = 'incompletereceipt';
const LEASE_SECONDS = 60;
const RENEW_EVERY_MS = 20_000;

export interface ReceiptRef {
  functionId: string;
  etag: string;
  container: string;
  blobName: string;
}

export interface ReceiptLease {
  /** Marks the receipt complete (the blob has been handled). */
  complete(): Promise<void>;
  /** Gives the lease up (idempotent). */
  release(): Promise<void>;
}

export type AcquireResult = { status: 'complete' } | { status: 'busy' } | { status: 'acquired'; lease: ReceiptLease };

export class BlobReceipts {
  readonly #container: ContainerClient;
  readonly #hostId: string;
  #ready: Promise<unknown> | undefined;

  constructor(hostsContainer: ContainerClient, hostId: string) {
    this.#container = hostsContainer;
    this.#hostId = hostId;
  }

  blobNameFor(ref: ReceiptRef): string {
    return `blobreceipts/${this.#hostId}/${ref.functionId}/${ref.etag.replace(/"/g, '')}/${ref.container}/${ref.blobName}`;
  }

  #blob(ref: ReceiptRef): BlockBlobClient {
    return this.#container.getBlockBlobClient(this.blobNameFor(ref));
  }

  async isComplete(ref: ReceiptRef): Promise<boolean> {
    try {
      const properties = await this.#blob(ref).getProperties();
      return properties.metadata?.[INCOMPLETE_KEY] !== 'true';
    } catch (error) {
      if (statusCodeOf(error) === 404) return false;
      throw error;
    }
  }

  async tryAcquire(ref: ReceiptRef): Promise<AcquireResult> {
    this.#ready ??= this.#container.createIfNotExists().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
    const blob = this.#blob(ref);
    try {
      await blob.upload('', 0, { metadata: { IncompleteReceipt: 'true' }, conditions: { ifNoneMatch: '*' } });
    } catch (error) {
      const status = statusCodeOf(error);
      // 409/412: the receipt exists already (another process, or an earlier attempt of ours).
      if (status !== 409 && status !== 412) throw error;
    }
    const leaseClient = blob.getBlobLeaseClient();
    try {
      await leaseClient.acquireLease(LEASE_SECONDS);
    } catch (error) {
      if (statusCodeOf(error) === 409) return { status: 'busy' };
      throw error;
    }
    const leaseId = leaseClient.leaseId;
    // Completed by someone else between our check and our lease?
    const properties = await blob.getProperties();
    if (properties.metadata?.[INCOMPLETE_KEY] !== 'true') {
      await leaseClient.releaseLease().catch(() => undefined);
      return { status: 'complete' };
    }

    const renewal = setInterval(() => {
      leaseClient.renewLease().catch(() => undefined);
    }, RENEW_EVERY_MS);
    renewal.unref();
    let released = false;
    return {
      status: 'acquired',
      lease: {
        complete: async () => {
          await blob.setMetadata({}, { conditions: { leaseId } });
        },
        release: async () => {
          if (released) return;
          released = true;
          clearInterval(renewal);
          await leaseClient.releaseLease().catch(() => undefined);
        },
      },
    };
  }
}
