import type { TraceRecord } from './canonicalEvent.js';

/**
 * Puts events that arrive nearly in time order into order, in bounded memory: the last events wait in a queue kept
 * sorted by time (ties in arrival order) until the window is full, and the earliest leaves first. Recordings are
 * written as they happen, so their disorder is small and local (rrweb stamps mouse positions up to a second back),
 * and an event in order is appended at the end in constant time; one out of order is put in its place by binary
 * search. An event earlier than one already let out means the window was too small for this trace: `overflowed`
 * says so, and the caller sorts the whole trace instead (externalSort.ts).
 */

export interface ReorderWindowLimits {
  maxEvents: number;
  maxBytes: number;
}

export const DEFAULT_REORDER_LIMITS: ReorderWindowLimits = { maxEvents: 1_000, maxBytes: 1024 * 1024 };

export class ReorderWindow {
  /** The waiting events, sorted; the live ones are those from `#head` on. */
  #queue: TraceRecord[] = [];
  #head = 0;
  readonly #limits: ReorderWindowLimits;
  #bytes = 0;
  #lastOut = -Infinity;
  #overflowed = false;

  constructor(limits: ReorderWindowLimits = DEFAULT_REORDER_LIMITS) {
    this.#limits = limits;
  }

  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Adds an event; appends the events that leave the window to `out`, in order (none once it has overflowed). */
  add(record: TraceRecord, out: TraceRecord[]): void {
    if (this.#overflowed) return;
    if (record.time < this.#lastOut) {
      this.#overflowed = true;
      this.#queue = [];
      this.#head = 0;
      this.#bytes = 0;
      return;
    }
    const queue = this.#queue;
    const last = queue.length > this.#head ? (queue[queue.length - 1] as TraceRecord) : undefined;
    if (last === undefined || last.time <= record.time) {
      queue.push(record);
    } else {
      // After every event of the same time or earlier: ties keep their arrival order.
      let low = this.#head;
      let high = queue.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((queue[middle] as TraceRecord).time <= record.time) low = middle + 1;
        else high = middle;
      }
      queue.splice(low, 0, record);
    }
    this.#bytes += record.text.length;
    while (queue.length - this.#head > this.#limits.maxEvents || this.#bytes > this.#limits.maxBytes) out.push(this.#take());
    if (this.#head > 4096 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Every event still waiting, in order. */
  drain(out: TraceRecord[]): void {
    while (this.#queue.length > this.#head) out.push(this.#take());
    this.#queue = [];
    this.#head = 0;
  }

  #take(): TraceRecord {
    const first = this.#queue[this.#head++] as TraceRecord;
    this.#bytes -= first.text.length;
    this.#lastOut = first.time;
    return first;
  }
}
