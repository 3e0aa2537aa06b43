import { createHash, type Hash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';

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

export const MAX_LINE_BYTES = 1024 * 1024;
export const MAX_REPORTED_ERRORS = 20;
/** Bounds memory and the stored counts: a trace of keyboard, mouse and touch input has a few dozen kinds. */
export const MAX_EVENT_TYPES = 1000;
export const MAX_EVENT_TYPE_LENGTH = 256;

export interface TraceLineError {
  line: number;
  message: string;
}

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

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export class TraceIndexer {
  readonly #hash: Hash = createHash('sha256');
  /** Boxed counts: one map lookup per event instead of a get and a set. */
  readonly #counts = new Map<string, { count: number }>();
  readonly #errors: TraceLineError[] = [];
  #errorCount = 0;
  #sizeBytes = 0;
  /** Number of the line being read (1-based). */
  #line = 1;
  /** Pieces of the current line seen in earlier chunks (only when it spans chunks). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The current line is over the limit: its bytes are skipped up to the next newline. */
  #skippingLongLine = false;
  #eventCount = 0;
  #firstTs = Infinity;
  #lastTs = -Infinity;
  #finished = false;

  /** Feeds the next bytes of the file. */
  push(chunk: Uint8Array): void {
    if (this.#finished) throw new Error('TraceIndexer: push after finish');
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buffer.length === 0) return;
    this.#hash.update(buffer);
    this.#sizeBytes += buffer.length;
    let start = 0;
    if (this.#pendingBytes > 0 || this.#skippingLongLine) {
      // The end of a line begun in an earlier chunk.
      const newline = buffer.indexOf(NEWLINE);
      if (newline === -1) {
        this.#holdPartialLine(buffer, 0);
        return;
      }
      this.#endLine(buffer, 0, newline, false);
      start = newline + 1;
    }
    const lastNewline = buffer.lastIndexOf(NEWLINE);
    if (lastNewline >= start) {
      // The whole lines of this chunk, UTF-8-checked in one call: a newline is never part of a multi-byte
      // sequence, so the run of lines is valid exactly when each line is (each is checked alone only if not).
      const allUtf8 = isUtf8(buffer.subarray(start, lastNewline));
      while (start <= lastNewline) {
        const newline = buffer.indexOf(NEWLINE, start);
        this.#endLine(buffer, start, newline, allUtf8);
        start = newline + 1;
      }
    }
    this.#holdPartialLine(buffer, start);
  }

  /** Ends the file and returns what was found. */
  finish(): TraceIndexResult {
    if (!this.#finished) {
      this.#finished = true;
      // Bytes after the last newline are a last line without a terminator; nothing after it is the allowed
      // empty last line.
      if (this.#pendingBytes > 0 || this.#skippingLongLine) this.#endLine(Buffer.alloc(0), 0, 0, false);
      if (this.#sizeBytes === 0) this.#error(0, 'The file is empty: a trace needs at least one event.');
    }
    const valid = this.#errorCount === 0;
    const lineCount = this.#sizeBytes === 0 ? 0 : this.#line - 1;
    return {
      valid,
      sizeBytes: this.#sizeBytes,
      sha256: this.#hash.copy().digest('hex'),
      lineCount,
      eventCount: this.#eventCount,
      eventCounts: Object.fromEntries([...this.#counts].map(([type, box]) => [type, box.count])),
      firstTs: this.#eventCount > 0 ? this.#firstTs : null,
      lastTs: this.#eventCount > 0 ? this.#lastTs : null,
      errors: [...this.#errors],
      errorCount: this.#errorCount,
    };
  }

  #holdPartialLine(buffer: Buffer, start: number): void {
    const length = buffer.length - start;
    if (length === 0 || this.#skippingLongLine) return;
    // +1: room for the CR of a CRLF line of exactly the limit.
    if (this.#pendingBytes + length > MAX_LINE_BYTES + 1) {
      this.#startSkipping();
      return;
    }
    // Copied: the caller may reuse its chunk's memory once push returns.
    this.#pending.push(Buffer.from(buffer.subarray(start)));
    this.#pendingBytes += length;
  }

  #startSkipping(): void {
    this.#skippingLongLine = true;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /**
   * The line ends at `end` (exclusive, the newline's offset) in `buffer`, with any pending pieces before it.
   * `knownUtf8`: the caller has checked these bytes already.
   */
  #endLine(buffer: Buffer, start: number, end: number, knownUtf8: boolean): void {
    const lineNumber = this.#line++;
    if (this.#skippingLongLine) {
      this.#skippingLongLine = false;
      this.#error(lineNumber, `The line is longer than ${MAX_LINE_BYTES} bytes (1 MiB).`);
      return;
    }
    let line: Buffer;
    let from: number;
    let to: number;
    if (this.#pendingBytes > 0) {
      if (this.#pendingBytes + (end - start) > MAX_LINE_BYTES + 1) {
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#error(lineNumber, `The line is longer than ${MAX_LINE_BYTES} bytes (1 MiB).`);
        return;
      }
      this.#pending.push(buffer.subarray(start, end));
      line = Buffer.concat(this.#pending);
      this.#pending = [];
      this.#pendingBytes = 0;
      from = 0;
      to = line.length;
      knownUtf8 = false;
    } else {
      line = buffer;
      from = start;
      to = end;
    }
    if (to > from && line[to - 1] === CARRIAGE_RETURN) to--; // CRLF files
    if (to - from > MAX_LINE_BYTES) {
      this.#error(lineNumber, `The line is longer than ${MAX_LINE_BYTES} bytes (1 MiB).`);
      return;
    }
    this.#checkLine(lineNumber, line, from, to, knownUtf8);
  }

  #checkLine(lineNumber: number, buffer: Buffer, from: number, to: number, knownUtf8: boolean): void {
    if (lineNumber === 1 && to - from >= 3 && buffer[from] === 0xef && buffer[from + 1] === 0xbb && buffer[from + 2] === 0xbf) {
      from += 3; // a UTF-8 byte order mark
    }
    if (to === from) {
      this.#error(lineNumber, 'The line is empty (only the last line of the file may be).');
      return;
    }
    // toString would replace invalid sequences with U+FFFD silently; check first.
    if (!knownUtf8 && !isUtf8(buffer.subarray(from, to))) {
      this.#error(lineNumber, 'The line is not valid UTF-8.');
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(buffer.toString('utf8', from, to));
    } catch (error) {
      this.#error(lineNumber, `The line is not valid JSON: ${truncate((error as Error).message, 200)}`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.#error(lineNumber, `The line is ${describeType(value)}, not a JSON object.`);
      return;
    }
    const event = value as Record<string, unknown>;
    const ts = event.ts;
    if (typeof ts !== 'number') {
      this.#error(lineNumber, ts === undefined ? 'The event has no `ts`.' : `\`ts\` is ${describeType(ts)}, not a number.`);
      return;
    }
    const typeField = event.type;
    const type = typeof typeField === 'string' ? typeField : typeof event.name === 'string' ? event.name : undefined;
    if (type === undefined) {
      this.#error(lineNumber, 'The event has no string `type` or `name`.');
      return;
    }
    if (type.length > MAX_EVENT_TYPE_LENGTH) {
      this.#error(lineNumber, `The event's type is longer than ${MAX_EVENT_TYPE_LENGTH} characters.`);
      return;
    }
    const box = this.#counts.get(type);
    if (box !== undefined) {
      box.count++;
    } else if (this.#counts.size >= MAX_EVENT_TYPES) {
      this.#error(lineNumber, `The trace has more than ${MAX_EVENT_TYPES} distinct event types.`);
      return;
    } else {
      this.#counts.set(type, { count: 1 });
    }
    this.#eventCount++;
    if (ts < this.#firstTs) this.#firstTs = ts;
    if (ts > this.#lastTs) this.#lastTs = ts;
  }

  #error(line: number, message: string): void {
    this.#errorCount++;
    if (this.#errors.length < MAX_REPORTED_ERRORS) this.#errors.push({ line, message });
  }
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** Indexes a whole stream of bytes (the blob's download body, a file...). */
export async function indexTraceStream(stream: AsyncIterable<Uint8Array | string>): Promise<TraceIndexResult> {
  const indexer = new TraceIndexer();
  for await (const chunk of stream) indexer.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return indexer.finish();
}
