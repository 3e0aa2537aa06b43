/** The sha256 of the bytes given in order, computed by sha256Worker.ts on another thread. */
import { Worker } from 'node:worker_threads';
import type { HashAnswer, HashRequest } from './sha256Worker.js';

export class WholeFileHash {
  private readonly worker = new Worker(new URL('./sha256Worker.js', import.meta.url));
  private readonly waiting = new Map<number, (answer: HashAnswer) => void>();
  private next = 0;

  constructor() {
    this.worker.on('message', (answer: HashAnswer) => {
      this.waiting.get(answer.id)?.(answer);
      this.waiting.delete(answer.id);
    });
  }

  private ask(request: Omit<HashRequest, 'id'> & Record<string, unknown>): Promise<HashAnswer> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ ...request, id });
    });
  }

  /** Resolves once the bytes are hashed (and `memory` may be written again). */
  async update(memory: SharedArrayBuffer, length: number): Promise<void> {
    await this.ask({ memory, length });
  }

  async digest(): Promise<string> {
    const answer = await this.ask({ digest: true });
    return answer.digest as string;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
