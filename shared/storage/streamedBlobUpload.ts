import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { BlobRequestConditions, BlockBlobClient } from '@azure/storage-blob';

/** Staged blocks: two of 4 MiB in flight, so an upload holds at most 8 MiB whatever the file's size. */
const BLOCK_BYTES = 4 * 1024 * 1024;
const CONCURRENCY = 2;

export interface UploadedBlob {
  bytes: number;
  sha256: string;
}

/**
 * A blob written as it is produced: text goes through a stream into the SDK's staged-block upload (uploadStream:
 * https://learn.microsoft.com/javascript/api/@azure/storage-blob/blockblobclient#@azure-storage-blob-blockblobclient-uploadstream),
 * with backpressure, and the blob is committed (Put Block List) only when `finish` ends the stream; `abort` ends it
 * with an error instead, so nothing is committed and the blob keeps its old content. Bytes and sha256 are counted
 * on the way. `conditions` apply to the commit (If-Match, to replace only the blob that was read).
 */
export class StreamedBlobUpload {
  readonly #stream = new PassThrough();
  readonly #hash = createHash('sha256');
  readonly #upload: Promise<{ error: unknown } | null>;
  #bytes = 0;

  constructor(blob: BlockBlobClient, options: { conditions?: BlobRequestConditions } = {}) {
    this.#upload = blob
      .uploadStream(this.#stream, BLOCK_BYTES, CONCURRENCY, {
        blobHTTPHeaders: { blobContentType: 'application/jsonl; charset=utf-8' },
        ...(options.conditions ? { conditions: options.conditions } : {}),
      })
      .then(
        () => null,
        (error: unknown) => {
          // An upload that fails stops reading: end the stream too, so that a writer waiting for room is released.
          this.#stream.destroy(error instanceof Error ? error : new Error(String(error)));
          return { error };
        },
      );
  }

  /** Queues text without waiting; pair with `room()` to keep memory bounded. */
  push(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.#hash.update(bytes);
    this.#bytes += bytes.length;
    this.#stream.write(bytes);
  }

  /** Resolves once the upload has taken what was queued (rejects if it failed). */
  async room(): Promise<void> {
    if (this.#stream.writableNeedDrain) await once(this.#stream, 'drain');
  }

  async write(text: string): Promise<void> {
    this.push(text);
    await this.room();
  }

  /** Commits the blob; rejects with the upload's error if it failed. */
  async finish(): Promise<UploadedBlob> {
    this.#stream.end();
    const failed = await this.#upload;
    if (failed) throw failed.error;
    return { bytes: this.#bytes, sha256: this.#hash.digest('hex') };
  }

  /** Gives up: nothing is committed. Answers the upload's own error, if it failed first. */
  async abort(reason: Error): Promise<unknown> {
    this.#stream.destroy(reason);
    const failed = await this.#upload;
    return failed && failed.error !== reason ? failed.error : undefined;
  }
}
