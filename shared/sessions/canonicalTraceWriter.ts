import { createHash, type Hash } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import { TIMESTAMP_SLOT, type TraceRecord } from '../traces/canonicalEvent.js';
import { formatIsoTimestamp } from '../traces/traceTime.js';
import { StagedBlockUpload } from './stagedBlockUpload.js';

/**
 * Writes the canonical `input_events.jsonl`, in time order as it is given, to staged blocks of its blob: nothing
 * is visible until `commit`, so an indexing run that fails or turns out invalid leaves no half-written trace (the
 * service discards uncommitted blocks). Lines are gathered into ~1 MiB pieces before they are staged; the bytes
 * written are counted and hashed, so that the session reports the canonical file's own size and sha256.
 */
const PIECE_BYTES = 1024 * 1024;

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
  #piece: string[] = [];
  #pieceLength = 0;
  #sizeBytes = 0;

  constructor(blob: BlockBlobClient) {
    this.#blob = blob;
    this.#upload = new StagedBlockUpload(blob);
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
      this.#piece.push(line);
      this.#pieceLength += line.length + 1;
      if (this.#pieceLength >= PIECE_BYTES) await this.#flush();
    }
  }

  async commit(): Promise<CommittedTrace> {
    await this.#flush();
    const blockIds = await this.#upload.finish();
    const response = await this.#blob.commitBlockList(blockIds, {
      blobHTTPHeaders: { blobContentType: 'application/jsonl; charset=utf-8' },
    });
    return { sizeBytes: this.#sizeBytes, sha256: this.#hash.digest('hex'), etag: response.etag as string };
  }

  /** Waits for blocks in flight after a failure, so that nothing lands once the caller has cleaned up. */
  async abandon(): Promise<void> {
    await this.#upload.settle();
  }

  async #flush(): Promise<void> {
    if (this.#piece.length === 0) return;
    const bytes = Buffer.from(`${this.#piece.join('\n')}\n`, 'utf8');
    this.#piece = [];
    this.#pieceLength = 0;
    this.#hash.update(bytes);
    this.#sizeBytes += bytes.length;
    await this.#upload.write(bytes);
  }
}
