import type { Hash } from 'node:crypto';
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
  readonly #hash: Hash | undefined;
  readonly #blockIds: string[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #failure: unknown;
  #current: Buffer;
  #filled = 0;
  #sizeBytes = 0;

  constructor(
    blob: BlockBlobClient,
    /**
     * abortSignal: once aborted, no further block is staged and write/finish throw. hash: updated with every block
     * before it is staged, so that the bytes are digested once, a block at a time.
     */
    options: { blockBytes?: number; concurrency?: number; abortSignal?: AbortSignal; hash?: Hash } = {},
  ) {
    this.#blob = blob;
    this.#blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    this.#concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.#signal = options.abortSignal;
    this.#hash = options.hash;
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

  /**
   * Adds a line of text and its newline as UTF-8, encoded straight into the block being filled when it fits (a
   * UTF-8 character takes at most 3 bytes per UTF-16 code unit), without an intermediate Buffer. Synchronous unless
   * a block fills: only then is there a promise to wait for (a trace has millions of lines).
   */
  writeLine(text: string): Promise<void> | undefined {
    if (this.#blockBytes - this.#filled > text.length * 3) {
      this.#throwIfFailed();
      const written = this.#current.write(text, this.#filled, 'utf8');
      this.#current[this.#filled + written] = 0x0a;
      this.#filled += written + 1;
      this.#sizeBytes += written + 1;
      return this.#filled === this.#blockBytes ? this.#stageCurrent() : undefined;
    }
    return this.write(Buffer.from(`${text}\n`, 'utf8'));
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
    this.#hash?.update(block);
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
