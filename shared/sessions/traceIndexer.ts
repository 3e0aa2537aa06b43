import { createHash, type Hash } from 'node:crypto';
import { describeJsonType, JsonlObjectReader, LineErrors, MAX_LINE_BYTES, type LineError } from '../jsonl/jsonlObjectReader.js';

/**
 * The streaming validator and counter behind the session indexer: fed the bytes of an `input_events.jsonl` in
 * chunks of any size, it checks every line, counts events by type and measures the file, in memory bounded by
 * MAX_LINE_BYTES (a line is held only while it is incomplete at a chunk boundary, and never past the limit).
 * Pure: no I/O, so that it is unit-tested on bytes and benchmarked apart from storage.
 *
 * A valid line is a JSON object with a numeric `ts` and a string `type` or `name` (`type` wins when both are
 * strings). Empty lines are errors, except the empty "line" after the final newline. Line numbers are 1-based;
 * line 0 stands for the file as a whole (an empty file).
 */

export { MAX_LINE_BYTES };
export const MAX_REPORTED_ERRORS = 20;
/** Bounds memory and the stored counts: a trace of keyboard, mouse and touch input has a few dozen kinds. */
export const MAX_EVENT_TYPES = 1000;
export const MAX_EVENT_TYPE_LENGTH = 256;

export type TraceLineError = LineError;

export interface TraceIndexResult {
  valid: boolean;
  sizeBytes: number;
  /** Lowercase hex SHA-256 of every byte of the file. */
  sha256: string;
  lineCount: number;
  /** Valid events only. */
  eventCount: number;
  eventCounts: Record<string, number>;
  /** Earliest and latest `ts` of the valid events (null without any). */
  firstTs: number | null;
  lastTs: number | null;
  /** The first MAX_REPORTED_ERRORS errors, in line order. */
  errors: TraceLineError[];
  /** Every error, reported or not. */
  errorCount: number;
}

export class TraceIndexer {
  readonly #hash: Hash = createHash('sha256');
  readonly #counts = new Map<string, number>();
  readonly #errors = new LineErrors(MAX_REPORTED_ERRORS);
  readonly #reader = new JsonlObjectReader({
    object: (line, value) => this.#checkEvent(line, value),
    error: (line, message) => this.#error(line, message),
  });
  #eventCount = 0;
  #firstTs = Infinity;
  #lastTs = -Infinity;
  #finished = false;

  /** Feeds the next bytes of the file. */
  push(chunk: Uint8Array): void {
    if (this.#finished) throw new Error('TraceIndexer: push after finish');
    if (chunk.byteLength === 0) return;
    this.#hash.update(chunk);
    this.#reader.push(chunk);
  }

  /** Ends the file and returns what was found. */
  finish(): TraceIndexResult {
    if (!this.#finished) {
      this.#finished = true;
      this.#reader.finish();
      if (this.#reader.sizeBytes === 0) this.#error(0, 'The file is empty: a trace needs at least one event.');
    }
    return {
      valid: this.#errors.count === 0,
      sizeBytes: this.#reader.sizeBytes,
      sha256: this.#hash.copy().digest('hex'),
      lineCount: this.#reader.lineCount,
      eventCount: this.#eventCount,
      eventCounts: Object.fromEntries(this.#counts),
      firstTs: this.#eventCount > 0 ? this.#firstTs : null,
      lastTs: this.#eventCount > 0 ? this.#lastTs : null,
      errors: [...this.#errors.kept],
      errorCount: this.#errors.count,
    };
  }

  #checkEvent(lineNumber: number, event: Record<string, unknown>): void {
    const ts = event.ts;
    if (typeof ts !== 'number') {
      this.#error(lineNumber, ts === undefined ? 'The event has no `ts`.' : `\`ts\` is ${describeJsonType(ts)}, not a number.`);
      return;
    }
    const type = typeof event.type === 'string' ? event.type : typeof event.name === 'string' ? event.name : undefined;
    if (type === undefined) {
      this.#error(lineNumber, 'The event has no string `type` or `name`.');
      return;
    }
    if (type.length > MAX_EVENT_TYPE_LENGTH) {
      this.#error(lineNumber, `The event's type is longer than ${MAX_EVENT_TYPE_LENGTH} characters.`);
      return;
    }
    const count = this.#counts.get(type);
    if (count === undefined && this.#counts.size >= MAX_EVENT_TYPES) {
      this.#error(lineNumber, `The trace has more than ${MAX_EVENT_TYPES} distinct event types.`);
      return;
    }
    this.#counts.set(type, (count ?? 0) + 1);
    this.#eventCount++;
    if (ts < this.#firstTs) this.#firstTs = ts;
    if (ts > this.#lastTs) this.#lastTs = ts;
  }

  #error(line: number, message: string): void {
    this.#errors.add(line, message);
  }
}

/** Indexes a whole stream of bytes (the blob's download body, a file...). */
export async function indexTraceStream(stream: AsyncIterable<Uint8Array | string>): Promise<TraceIndexResult> {
  const indexer = new TraceIndexer();
  for await (const chunk of stream) indexer.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return indexer.finish();
}
