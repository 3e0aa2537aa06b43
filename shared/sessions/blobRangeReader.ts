import { Readable } from 'node:stream';
import type { BlobClient } from '@azure/storage-blob';
import yauzl from 'yauzl';

/**
 * yauzl's random access over one version of a blob (every download is `ifMatch` its ETag, so a blob replaced
 * while it is read fails instead of mixing two uploads). A zip is read from its central directory at the end,
 * then entry by entry near the start: two cursors, each an open download that moves forward, serve those two
 * regions in one request each when the entries come in the order they are stored (as zip writers write them), and
 * a read that neither cursor can reach by skipping a little opens a new one. A blob of 5 GiB is thus read about
 * once, never held.
 */
const MAX_SKIP_BYTES = 1024 * 1024;
const MAX_CURSORS = 2;

interface Cursor {
  position: number;
  chunks: AsyncIterator<Buffer>;
  /** Bytes read from the download but not yet served (they start at `position`). */
  leftover: Buffer | undefined;
  busy: boolean;
  lastUsed: number;
}

export class BlobRangeReader extends yauzl.RandomAccessReader {
  readonly #blob: BlobClient;
  readonly #etag: string;
  readonly #cursors: Cursor[] = [];
  #uses = 0;
  /** Downloads opened, for the indexer's log (ideally two). */
  downloads = 0;

  constructor(blob: BlobClient, etag: string) {
    super();
    this.#blob = blob;
    this.#etag = etag;
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from(this.#range(start, end), { objectMode: false });
  }

  override close(callback: (error: Error | null) => void): void {
    const cursors = this.#cursors.splice(0);
    Promise.all(cursors.map((cursor) => cursor.chunks.return?.()))
      .then(() => callback(null))
      .catch(() => callback(null));
  }

  async *#range(start: number, end: number): AsyncGenerator<Buffer> {
    const cursor = await this.#cursorAt(start);
    cursor.busy = true;
    cursor.lastUsed = this.#uses++;
    try {
      let position = start;
      while (position < end) {
        const chunk = await this.#next(cursor);
        if (!chunk) throw new Error(`The upload ended at byte ${cursor.position}, before byte ${end}.`);
        const wanted = end - position;
        if (chunk.length > wanted) {
          cursor.leftover = chunk.subarray(wanted);
          cursor.position = position + wanted;
          position = end;
          yield chunk.subarray(0, wanted);
        } else {
          cursor.position = position + chunk.length;
          position += chunk.length;
          yield chunk;
        }
      }
    } finally {
      cursor.busy = false;
      // A download opened while every cursor was busy serves this range only.
      if (!this.#cursors.includes(cursor)) await cursor.chunks.return?.();
    }
  }

  async #next(cursor: Cursor): Promise<Buffer | undefined> {
    if (cursor.leftover) {
      const chunk = cursor.leftover;
      cursor.leftover = undefined;
      return chunk;
    }
    const next = await cursor.chunks.next();
    return next.done ? undefined : next.value;
  }

  /** A cursor at `start`: an idle one just behind it (skipping forward), or a new download. */
  async #cursorAt(start: number): Promise<Cursor> {
    const reachable = this.#cursors.find(
      (cursor) => !cursor.busy && cursor.position <= start && start - cursor.position <= MAX_SKIP_BYTES,
    );
    if (reachable) {
      while (reachable.position < start) {
        const chunk = await this.#next(reachable);
        if (!chunk) break;
        const skip = start - reachable.position;
        if (chunk.length > skip) reachable.leftover = chunk.subarray(skip);
        reachable.position += Math.min(skip, chunk.length);
      }
      if (reachable.position === start) return reachable;
    }
    const download = await this.#blob.download(start, undefined, { conditions: { ifMatch: this.#etag }, maxRetryRequests: 5 });
    this.downloads++;
    const body = download.readableStreamBody as NodeJS.ReadableStream;
    const cursor: Cursor = {
      position: start,
      chunks: (body as AsyncIterable<Buffer>)[Symbol.asyncIterator](),
      leftover: undefined,
      busy: false,
      lastUsed: this.#uses,
    };
    const idle = this.#cursors.filter((existing) => !existing.busy);
    if (this.#cursors.length >= MAX_CURSORS && idle.length > 0) {
      const oldest = idle.reduce((a, b) => (a.lastUsed <= b.lastUsed ? a : b));
      this.#cursors.splice(this.#cursors.indexOf(oldest), 1);
      void oldest.chunks.return?.();
    }
    if (this.#cursors.length < MAX_CURSORS) this.#cursors.push(cursor);
    return cursor;
  }
}
