/**
 * The bytes of an upload into staged blocks of its staging blob, through the session's upload URL with the Azure
 * SDK's BlockBlobClient (stageBlock, then commitBlockList: https://learn.microsoft.com/rest/api/storageservices/put-block
 * and put-block-list). The source is read once, in order (so its sha256 comes for free), straight into blocks of
 * `blockSize`, and up to `concurrency` blocks are in flight at once. Memory is bounded by construction: at most
 * `concurrency + 1` block buffers exist, reused, and reading waits for a free one; a file is read into them with
 * no buffers in between (a stream's chunks would be garbage waiting for V8 to collect it: RSS, not memory held).
 *
 * Blocks already staged (the resume record) are read and hashed but not sent again. Block ids are the block's
 * index, so a resumed upload stages the same ids and the commit lists them in order. A 403 from storage (the URL
 * expired mid-upload) renews the URL once for the whole upload and retries the block.
 */
import { createHash } from 'node:crypto';
import { RestError, type BlockBlobClient } from '@azure/storage-blob';
import { WholeFileHash } from './wholeFileHash.js';

/** Fills a block buffer from the source: whole, or less only at the end (0 once it is done). */
export type BlockReader = (buffer: Buffer) => Promise<number>;

export interface StagedUploadOptions {
  source: BlockReader;
  blockSize: number;
  concurrency: number;
  /** Blocks staged before, by index: the digest of their bytes, or "" when the source's identity vouches for them. */
  staged: ReadonlyMap<number, string>;
  /** Whether a staged block's bytes must be checked against its digest (a folder's zip, made again). */
  checkStaged: boolean;
  blob(): BlockBlobClient;
  /** A fresh URL for the same blob (the old one expired); resolves once blob() answers with it. */
  renew(): Promise<void>;
  /** Called as each block is staged, before it counts as done. */
  onStaged(index: number, digest: string): void;
  /** Bytes done (staged now or before) and bytes sent by this run. */
  onProgress(bytesDone: number, bytesUploaded: number): void;
  signal: AbortSignal;
}

export interface StagedUploadResult {
  size: number;
  sha256: string;
  blockIds: string[];
  blocksUploaded: number;
  blocksReused: number;
  bytesUploaded: number;
}

/** Equal-length ids, as Put Block List requires of one blob's blocks. */
export function blockIdOf(index: number): string {
  return Buffer.from(`tracepipe-${String(index).padStart(6, '0')}`).toString('base64');
}

function isExpiredUrl(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 403;
}

export async function stageAndCommit(options: StagedUploadOptions): Promise<StagedUploadResult> {
  const { blockSize, concurrency, signal } = options;
  const whole = new WholeFileHash();
  const free: Buffer[] = [];
  let allocated = 0;
  const waiting: Array<() => void> = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let renewing: Promise<void> | undefined;
  let renewed = false;
  const result: StagedUploadResult = { size: 0, sha256: '', blockIds: [], blocksUploaded: 0, blocksReused: 0, bytesUploaded: 0 };
  let bytesDone = 0;

  const release = (buffer: Buffer) => {
    free.push(buffer);
    waiting.shift()?.();
  };
  const acquire = async (): Promise<Buffer> => {
    for (;;) {
      const buffer = free.pop();
      if (buffer) return buffer;
      if (allocated < concurrency + 1) {
        allocated += 1;
        // Shared memory, so that the hashing thread reads the very bytes the upload sends.
        return Buffer.from(new SharedArrayBuffer(blockSize));
      }
      await new Promise<void>((resolveFree) => waiting.push(resolveFree));
    }
  };

  const stage = async (index: number, buffer: Buffer, length: number, digest: string) => {
    for (;;) {
      try {
        // The block's own bytes: the SDK sends the body it is given, whatever the length says.
        await options.blob().stageBlock(blockIdOf(index), buffer.subarray(0, length), length, { abortSignal: signal });
        break;
      } catch (error) {
        if (!isExpiredUrl(error) || renewed || signal.aborted) throw error;
        renewing ??= options.renew().then(() => void (renewed = true));
        await renewing;
      }
    }
    options.onStaged(index, digest);
    result.blocksUploaded += 1;
    result.bytesUploaded += length;
    bytesDone += length;
    options.onProgress(bytesDone, result.bytesUploaded);
  };

  const dispatch = async (index: number, buffer: Buffer, length: number) => {
    const bytes = buffer.subarray(0, length);
    // Blocks reach the hashing thread in order; a buffer is reused only once hashed and staged.
    const hashed = whole.update(buffer.buffer as SharedArrayBuffer, length);
    const known = options.staged.get(index);
    const digest = options.checkStaged ? createHash('sha256').update(bytes).digest('hex') : '';
    result.blockIds.push(blockIdOf(index));
    if (known !== undefined && known === digest) {
      result.blocksReused += 1;
      bytesDone += length;
      options.onProgress(bytesDone, result.bytesUploaded);
      void hashed.then(() => release(buffer));
      return;
    }
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
    const task: Promise<void> = Promise.all([stage(index, buffer, length, digest), hashed])
      .then(() => undefined)
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        inFlight.delete(task);
        release(buffer);
      });
    inFlight.add(task);
  };

  try {
    for (let index = 0; ; index += 1) {
      const buffer = await acquire();
      signal.throwIfAborted();
      if (failure !== undefined) throw failure;
      const filled = await options.source(buffer);
      result.size += filled;
      if (filled === 0) {
        release(buffer);
        break;
      }
      await dispatch(index, buffer, filled);
      if (filled < blockSize) break;
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    signal.throwIfAborted();
    result.sha256 = await whole.digest();
  } finally {
    // Whatever happened, nothing is left running behind the caller's back.
    await Promise.allSettled(inFlight);
    await whole.close();
  }
  await commit(options, result.blockIds, () => renewed, async () => {
    renewing ??= options.renew().then(() => void (renewed = true));
    await renewing;
  });
  return result;
}

async function commit(options: StagedUploadOptions, blockIds: string[], wasRenewed: () => boolean, renew: () => Promise<void>) {
  for (;;) {
    try {
      await options.blob().commitBlockList(blockIds, { abortSignal: options.signal });
      return;
    } catch (error) {
      if (!isExpiredUrl(error) || wasRenewed() || options.signal.aborted) throw error;
      await renew();
    }
  }
}
