/**
 * A streamed download (example messages, dataset files) to a file or stdout: the body goes through as it comes,
 * never whole in memory. A file is written beside its target and renamed into place when complete, so a failed
 * download leaves no half file under the name asked for.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { networkErrorOf } from './api.js';

export async function saveBody(body: ReadableStream<Uint8Array> | null, target: string | undefined, where: string): Promise<number> {
  let bytes = 0;
  const counted = Readable.fromWeb((body ?? new Response('').body) as WebReadableStream<Uint8Array>).on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  if (target === undefined || target === '-') {
    try {
      // stdout is not ended: other output may follow, and Node closes it at exit.
      await pipeline(counted, new Writable({ write: (chunk, _encoding, done) => void process.stdout.write(chunk, done) }));
    } catch (error) {
      throw networkErrorOf(error, where);
    }
    return bytes;
  }
  const partial = `${target}.partial`;
  try {
    await pipeline(counted, createWriteStream(partial));
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw networkErrorOf(error, where);
  }
  return bytes;
}
