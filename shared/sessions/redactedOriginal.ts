import { createHash, type Hash } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import type { ValueSpan } from '../traces/jsonDocumentScanner.js';
import { StagedBlockUpload } from './stagedBlockUpload.js';

/**
 * The original upload as it is kept when redaction masked something in it: the upload byte for byte, except that
 * each element (a line, an event of a JSON document, a member such as Chrome's metadata) in which something was
 * masked is replaced by its masked JSON. Written in the same single pass that indexes the upload, in flat memory:
 *
 * - nothing is written until the first rewrite; uploads without one are copied inside the storage account as
 *   before (copyOriginal). At the first rewrite, the bytes before it are read back from the staging blob (ranged
 *   reads: Azurite has no Put Block From URL to copy them server-side) and the rest follows the indexing stream;
 * - the bytes after the last settled offset (an element still being read, which may yet be rewritten) are held
 *   until the reader has settled them: at most an element, bounded by the readers' limits;
 * - the blob is staged blocks until `commit`: nothing is visible before the session is ready.
 */

interface Rewrite {
  span: ValueSpan;
  text: string;
}

/** Reads `[from, to)` of the staging blob's indexed version. */
export type RangeSource = (from: number, to: number) => AsyncIterable<Buffer>;

export class RedactedOriginal {
  readonly #blob: BlockBlobClient;
  readonly #source: RangeSource;
  readonly #upload: StagedBlockUpload;
  readonly #hash: Hash = createHash('sha256');
  readonly #rewrites: Rewrite[] = [];
  #active = false;
  /** Output is final for the upload's bytes before this offset. */
  #cursor = 0;
  /** Bytes of the upload held, from #heldFrom on (only once active), in the pieces they came in. */
  #held: Buffer[] = [];
  #heldFrom = 0;
  #sizeBytes = 0;
  #blockIds: string[] = [];

  constructor(blob: BlockBlobClient, source: RangeSource) {
    this.#blob = blob;
    this.#source = source;
    this.#upload = new StagedBlockUpload(blob);
  }

  /** Whether anything was rewritten, so that the original must be this one rather than a copy. */
  get active(): boolean {
    return this.#active || this.#rewrites.length > 0;
  }

  /** A rewrite, reported while the reader parses; rewrites come in the order of the upload. */
  rewrite(span: ValueSpan, text: string): void {
    this.#rewrites.push({ span, text });
  }

  /**
   * After the reader took `chunk` (which starts at `chunkStart` in the upload): writes what is settled, up to
   * `settledBytes`, and holds the rest.
   */
  async feed(chunk: Buffer, chunkStart: number, settledBytes: number): Promise<void> {
    if (!this.#active) {
      if (this.#rewrites.length === 0) return;
      await this.#activate(chunkStart);
    }
    // Copied: the caller may reuse the chunk's memory.
    if (chunk.length > 0) this.#held.push(Buffer.from(chunk));
    const settled = Math.min(settledBytes, chunkStart + chunk.length);
    while (this.#rewrites.length > 0 && (this.#rewrites[0] as Rewrite).span.end <= settled) {
      const { span, text } = this.#rewrites.shift() as Rewrite;
      await this.#emitHeld(this.#cursor, span.start);
      await this.#write(Buffer.from(text, 'utf8'));
      this.#cursor = span.end;
    }
    // Never past the start of a rewrite still to come (its element's bytes are replaced, not copied).
    const next = this.#rewrites[0]?.span.start ?? Infinity;
    const until = Math.min(settled, next);
    await this.#emitHeld(this.#cursor, until);
    this.#cursor = Math.max(this.#cursor, until);
    this.#dropHeldBefore(this.#cursor);
  }

  /** After the reader finished an upload of `sizeBytes`: stages the rest; answers what the original holds. */
  async finish(sizeBytes: number): Promise<{ sizeBytes: number; sha256: string }> {
    await this.feed(Buffer.alloc(0), sizeBytes, sizeBytes);
    this.#blockIds = await this.#upload.finish();
    return { sizeBytes: this.#sizeBytes, sha256: this.#hash.digest('hex') };
  }

  /** Makes the original visible (once the session's trace is). */
  async commit(): Promise<void> {
    await this.#blob.commitBlockList(this.#blockIds);
  }

  /**
   * Nothing of it is kept: the blocks in flight land, then the blob (only uncommitted blocks) is deleted. Azurite
   * and most accounts delete those with it; where Azure answers 404 for a blob never committed, the service
   * discards its blocks within a week (https://learn.microsoft.com/rest/api/storageservices/put-block#remarks).
   */
  async abandon(): Promise<void> {
    await this.#upload.settle();
    if (this.#active) await this.#blob.deleteIfExists().catch(() => undefined);
  }

  /**
   * The first rewrite: everything before `chunkStart` (the chunk the reader has just taken) is written from the
   * staging blob, with the rewrites that fall in it; the chunk itself is then held as usual.
   */
  async #activate(chunkStart: number): Promise<void> {
    this.#active = true;
    while (this.#rewrites.length > 0 && (this.#rewrites[0] as Rewrite).span.start < chunkStart) {
      const { span, text } = this.#rewrites.shift() as Rewrite;
      await this.#emitFromSource(this.#cursor, span.start);
      await this.#write(Buffer.from(text, 'utf8'));
      this.#cursor = span.end;
    }
    await this.#emitFromSource(this.#cursor, chunkStart);
    this.#cursor = Math.max(this.#cursor, chunkStart);
    this.#held = [];
    this.#heldFrom = chunkStart;
  }

  async #emitFromSource(from: number, to: number): Promise<void> {
    if (to <= from) return;
    for await (const piece of this.#source(from, to)) await this.#write(piece);
  }

  /** Writes the held bytes of `[from, to)` (those before the held ones were replaced by a rewrite already). */
  async #emitHeld(from: number, to: number): Promise<void> {
    let pieceStart = this.#heldFrom;
    for (const piece of this.#held) {
      const pieceEnd = pieceStart + piece.length;
      const start = Math.max(from, pieceStart);
      const end = Math.min(to, pieceEnd);
      if (end > start) await this.#write(piece.subarray(start - pieceStart, end - pieceStart));
      if (pieceEnd >= to) return;
      pieceStart = pieceEnd;
    }
  }

  #dropHeldBefore(offset: number): void {
    while (this.#held.length > 0 && this.#heldFrom + (this.#held[0] as Buffer).length <= offset) {
      this.#heldFrom += (this.#held.shift() as Buffer).length;
    }
    const first = this.#held[0];
    if (first && offset > this.#heldFrom) {
      this.#held[0] = first.subarray(offset - this.#heldFrom);
      this.#heldFrom = offset;
    }
    if (this.#held.length === 0) this.#heldFrom = Math.max(this.#heldFrom, offset);
  }

  async #write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.#hash.update(bytes);
    this.#sizeBytes += bytes.length;
    await this.#upload.write(bytes);
  }
}
