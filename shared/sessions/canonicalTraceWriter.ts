import { createHash, type Hash } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import { TIMESTAMP_SLOT, type TraceRecord } from '../traces/canonicalEvent.js';
import { formatIsoTimestamp } from '../traces/traceTime.js';
import { StagedBlockUpload } from './stagedBlockUpload.js';

/**
 * Writes the canonical `input_events.jsonl`, in time order as it is given, to staged blocks of its blob: nothing
 * is visible until `commit`, so an indexing run that fails or turns out invalid leaves no half-written trace (the
 * service discards uncommitted blocks). Each line is encoded straight into the block being filled, and each block
 * hashed once, so that the session reports the canonical file's own size and sha256 at little cost per line.
 */

export interface CommittedTrace {
  sizeBytes: number;
  sha256: string;
  etag: string;
}

export class CanonicalTraceWriter {
  readonly #blob: BlockBlobClient;
  readonly #upload: StagedBlockUpload;
  readonly #hash: Hash = createHash('sha256');
  #origin = 0;

  constructor(blob: BlockBlobClient) {
    this.#blob = blob;
    // Two blocks in flight (8 MiB): the indexer's memory budget is shared with the download and the reorder window.
    this.#upload = new StagedBlockUpload(blob, { hash: this.#hash, concurrency: 2 });
  }

  /** Added to every event's time as it is written (the clock's origin: 0 for absolute clocks). */
  set origin(origin: number) {
    this.#origin = origin;
  }

  async write(records: readonly TraceRecord[]): Promise<void> {
    for (const record of records) {
      const text = record.text;
      const slot = text.indexOf(TIMESTAMP_SLOT);
      const line =
        slot === -1 ? text : `${text.slice(0, slot)}${formatIsoTimestamp(record.time + this.#origin)}${text.slice(slot + 1)}`;
      const staging = this.#upload.writeLine(line);
      if (staging) await staging;
    }
  }

  async commit(): Promise<CommittedTrace> {
    const blockIds = await this.#upload.finish();
    const response = await this.#blob.commitBlockList(blockIds, {
      blobHTTPHeaders: { blobContentType: 'application/jsonl; charset=utf-8' },
    });
    return { sizeBytes: this.#upload.sizeBytes, sha256: this.#hash.digest('hex'), etag: response.etag as string };
  }

  /** Waits for blocks in flight after a failure, so that nothing lands once the caller has cleaned up. */
  async abandon(): Promise<void> {
    await this.#upload.settle();
  }
}
