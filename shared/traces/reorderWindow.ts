import type { TraceRecord } from './canonicalEvent.js';
import { MinHeap } from './minHeap.js';

/**
 * Puts events that arrive nearly in time order into order, in bounded memory: events wait in a min-heap (by time,
 * then arrival) until the window is full, and the earliest leaves first. Recordings are written as they happen, so
 * their disorder is small and local (rrweb's mouse positions are stamped up to a second back, a bundle's files come
 * in name order: 1, 10, 100, 11...). An event earlier than one already let out means the window was too small for
 * this trace: `overflowed` says so, and the caller sorts the whole trace instead (externalSort.ts).
 */

interface Waiting extends TraceRecord {
  seq: number;
}

export interface ReorderWindowLimits {
  maxEvents: number;
  maxBytes: number;
}

export const DEFAULT_REORDER_LIMITS: ReorderWindowLimits = { maxEvents: 100_000, maxBytes: 16 * 1024 * 1024 };

export class ReorderWindow {
  readonly #heap = new MinHeap<Waiting>((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
  readonly #limits: ReorderWindowLimits;
  #bytes = 0;
  #seq = 0;
  #lastOut = -Infinity;
  #overflowed = false;

  constructor(limits: ReorderWindowLimits = DEFAULT_REORDER_LIMITS) {
    this.#limits = limits;
  }

  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Adds an event; answers the events that leave the window, in order (none once it has overflowed). */
  add(record: TraceRecord, out: TraceRecord[]): void {
    if (this.#overflowed) return;
    if (record.time < this.#lastOut) {
      this.#overflowed = true;
      this.#heap.clear();
      this.#bytes = 0;
      return;
    }
    this.#heap.push({ time: record.time, text: record.text, seq: this.#seq++ });
    this.#bytes += record.text.length;
    while (this.#heap.size > this.#limits.maxEvents || this.#bytes > this.#limits.maxBytes) out.push(this.#take());
  }

  /** Every event still waiting, in order. */
  drain(out: TraceRecord[]): void {
    while (this.#heap.size > 0) out.push(this.#take());
  }

  #take(): TraceRecord {
    const first = this.#heap.pop();
    this.#bytes -= first.text.length;
    this.#lastOut = first.time;
    return { time: first.time, text: first.text };
  }
}
