/**
 * The upload's sha256, on a thread of its own: the blocks are hashed in order from the same shared memory the
 * upload sends them from (no copy), while the main thread keeps the requests going. Hashing a GiB takes about a
 * second of CPU, which on the main thread came straight off the upload's rate.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type HashRequest = { id: number; memory: SharedArrayBuffer; length: number } | { id: number; digest: true };
export type HashAnswer = { id: number; digest?: string };

const hash = createHash('sha256');
const port = parentPort;
port?.on('message', (request: HashRequest) => {
  if ('digest' in request) {
    port.postMessage({ id: request.id, digest: hash.digest('hex') } satisfies HashAnswer);
    return;
  }
  hash.update(new Uint8Array(request.memory, 0, request.length));
  port.postMessage({ id: request.id } satisfies HashAnswer);
});
