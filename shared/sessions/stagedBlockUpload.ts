import type { BlockBlobClient } from '@azure/storage-blob';

/**
 * Writes a stream to a block blob as staged (uncommitted) blocks, a few at a time, and commits them later.
 * Unlike `uploadStream`, which commits as soon as the stream ends, the caller decides when the blob appears:
 * uncommitted blocks are invisible (no listing, no read, no blob trigger), so a multipart upload can write the
 * session row first and only then make the blob exist. Uncommitted blocks that are never committed are discarded
 * by the service (after a week in Azure: https://learn.microsoft.com/rest/api/storageservices/put-block#remarks).
 * Memory: at most `concurrency + 1` blocks.
 */
export const DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 4;

export class StagedBlockUpload {
  readonly #blob: BlockBlobClient;
  readonly #blockBytes: number;
  readonly #concurrency: number;
  readonly #signal: AbortSignal | undefined;
  readonly #blockIds: string[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #failure: unknown;
  #current: Buffer;
  #filled = 0;
  #sizeBytes = 0;

  constructor(
    blob: BlockBlobClient,
    /** abortSignal: once aborted, no further block is staged and write/finish throw. */
    options: { blockBytes?: number; concurrency?: number; abortSignal?: AbortSignal } = {},
  ) {
    this.#blob = blob;
    this.#blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    this.#concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.#signal = options.abortSignal;
    this.#current = Buffer.allocUnsafe(this.#blockBytes);
  }

  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** Adds bytes; resolves once they are buffered, waiting while `concurrency` blocks are being staged. */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      this.#throwIfFailed();
      const take = Math.min(chunk.length - offset, this.#blockBytes - this.#filled);
      this.#current.set(chunk.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      this.#sizeBytes += take;
      if (this.#filled === this.#blockBytes) await this.#stageCurrent();
    }
  }

  /** Stages what is left and waits for every block; answers the block list to commit. */
  async finish(): Promise<string[]> {
    if (this.#filled > 0) await this.#stageCurrent();
    await Promise.allSettled([...this.#inFlight]);
    this.#throwIfFailed();
    return [...this.#blockIds];
  }

  /** Waits for the blocks in flight to land or fail (after a failure elsewhere), ignoring the outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  async #stageCurrent(): Promise<void> {
    while (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
    const block = this.#filled === this.#blockBytes ? this.#current : this.#current.subarray(0, this.#filled);
    // Block ids must all have the same length within a blob.
    const blockId = Buffer.from(`block-${String(this.#blockIds.length).padStart(8, '0')}`).toString('base64');
    this.#blockIds.push(blockId);
    const staging = this.#blob
      // Not aborted with the upload: a block request cut off mid-way may still land after the caller has cleaned
      // up; letting the few in flight finish (see settle) makes the cleanup final.
      .stageBlock(blockId, block, block.length)
      .then(
        () => undefined,
        (error: unknown) => {
          this.#failure ??= error;
        },
      )
      .finally(() => this.#inFlight.delete(staging));
    this.#inFlight.add(staging);
    this.#current = Buffer.allocUnsafe(this.#blockBytes);
    this.#filled = 0;
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
    this.#signal?.throwIfAborted();
  }
}
