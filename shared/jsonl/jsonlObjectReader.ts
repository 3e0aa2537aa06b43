import { isUtf8 } from 'node:buffer';

/**
 * Splits JSON Lines arriving in chunks of any size into numbered JSON objects, in memory bounded by the line
 * limit: a line is held only while it is incomplete at a chunk boundary, and never past the limit (the rest of an
 * over-long line is skipped up to its newline). Every line must be valid UTF-8 holding one JSON object; CRLF
 * endings and a UTF-8 byte order mark are accepted; only the empty "line" after the final newline may be empty.
 * Pure: no I/O. Line numbers are 1-based.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Where a line's text is in the input: byte offsets, `end` exclusive (before its CR and LF). */
export interface LineSpan {
  start: number;
  end: number;
}

export interface JsonlHandlers {
  /**
   * A line holding a JSON object; `text` is the line itself (without its line ending or a byte order mark), `span`
   * where its text is in the input, and `exact` says that the line's bytes were exactly `text` and a newline (no
   * CR, no byte order mark, not the last line without its newline).
   */
  object(line: number, value: Record<string, unknown>, text: string, span: LineSpan, exact: boolean): void;
  error(line: number, message: string): void;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

export class JsonlObjectReader {
  /** Number of the line being read (1-based). */
  #line = 1;
  #sizeBytes = 0;
  /** Offset of the first byte of the line being read. */
  #lineStart = 0;
  /** Pieces of the current line seen in earlier chunks (only when it spans chunks). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The current line is over the limit: its bytes are skipped up to the next newline. */
  #skippingLongLine = false;
  #finished = false;
  /** The line being ended is the last one and had no newline: a writer that stopped mid-line leaves one. */
  #unterminated = false;

  constructor(
    private readonly handlers: JsonlHandlers,
    private readonly maxLineBytes = MAX_LINE_BYTES,
  ) {}

  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /**
   * Bytes before this offset belong to lines already handed over (or skipped as too long): what a caller keeps
   * of the input beyond it may still become a line.
   */
  get settledBytes(): number {
    return this.#skippingLongLine ? this.#sizeBytes : this.#lineStart;
  }

  /** Lines read so far (complete ones; all of them after finish). */
  get lineCount(): number {
    return this.#sizeBytes === 0 ? 0 : this.#line - 1;
  }

  push(chunk: Uint8Array): void {
    if (this.#finished) throw new Error('JsonlObjectReader: push after finish');
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buffer.length === 0) return;
    const base = this.#sizeBytes;
    this.#sizeBytes += buffer.length;
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.#holdPartialLine(buffer, start);
        return;
      }
      this.#endLine(buffer, start, newline, base + newline);
      start = newline + 1;
    }
  }

  /** Ends the input: bytes after the last newline are a last line without its terminator. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#unterminated = true;
    if (this.#pendingBytes > 0 || this.#skippingLongLine) this.#endLine(Buffer.alloc(0), 0, 0, this.#sizeBytes);
  }

  #tooLong(line: number): void {
    const mib = this.maxLineBytes / (1024 * 1024);
    this.handlers.error(line, `The line is longer than ${this.maxLineBytes} bytes${Number.isInteger(mib) ? ` (${mib} MiB)` : ''}.`);
  }

  #holdPartialLine(buffer: Buffer, start: number): void {
    const length = buffer.length - start;
    if (length === 0 || this.#skippingLongLine) return;
    // +1: room for the CR of a CRLF line of exactly the limit.
    if (this.#pendingBytes + length > this.maxLineBytes + 1) {
      this.#skippingLongLine = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      return;
    }
    // Copied: the caller may reuse its chunk's memory once push returns.
    this.#pending.push(Buffer.from(buffer.subarray(start)));
    this.#pendingBytes += length;
  }

  /**
   * The line ends at `end` (exclusive: the newline's offset) in `buffer`, after any pending pieces; `lineEnd` is
   * that offset in the whole input.
   */
  #endLine(buffer: Buffer, start: number, end: number, lineEnd: number): void {
    const lineNumber = this.#line++;
    const lineStart = this.#lineStart;
    this.#lineStart = lineEnd + 1;
    if (this.#skippingLongLine) {
      this.#skippingLongLine = false;
      this.#tooLong(lineNumber);
      return;
    }
    let line = buffer;
    let from = start;
    let to = end;
    if (this.#pendingBytes > 0) {
      const total = this.#pendingBytes + (end - start);
      const pieces = [...this.#pending, buffer.subarray(start, end)];
      this.#pending = [];
      this.#pendingBytes = 0;
      if (total > this.maxLineBytes + 1) {
        this.#tooLong(lineNumber);
        return;
      }
      line = Buffer.concat(pieces);
      from = 0;
      to = line.length;
    }
    let exact = !this.#unterminated;
    let textEnd = lineEnd;
    if (to > from && line[to - 1] === CARRIAGE_RETURN) {
      to--; // CRLF files
      textEnd--;
      exact = false;
    }
    if (to - from > this.maxLineBytes) {
      this.#tooLong(lineNumber);
      return;
    }
    this.#parseLine(lineNumber, line, from, to, { start: lineStart, end: textEnd }, exact);
  }

  #parseLine(lineNumber: number, buffer: Buffer, from: number, to: number, span: LineSpan, exact: boolean): void {
    if (lineNumber === 1 && to - from >= 3 && buffer[from] === 0xef && buffer[from + 1] === 0xbb && buffer[from + 2] === 0xbf) {
      from += 3; // a UTF-8 byte order mark
      span.start += 3;
      exact = false;
    }
    if (to === from) {
      this.handlers.error(lineNumber, 'The line is empty (only the last line of the file may be).');
      return;
    }
    // toString would replace invalid sequences with U+FFFD silently; check first.
    if (!isUtf8(buffer.subarray(from, to))) {
      this.handlers.error(lineNumber, 'The line is not valid UTF-8.');
      return;
    }
    const text = buffer.toString('utf8', from, to);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.handlers.error(
        lineNumber,
        this.#unterminated
          ? 'The last line is cut short (no newline at its end, and not valid JSON): the recording stopped mid-write.'
          : `The line is not valid JSON: ${truncate((error as Error).message, 200)}`,
      );
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.handlers.error(lineNumber, `The line is ${describeJsonType(value)}, not a JSON object.`);
      return;
    }
    this.handlers.object(lineNumber, value as Record<string, unknown>, text, span, exact);
  }
}

export interface LineError {
  line: number;
  message: string;
}

/** Every error counted, the first `keep` of them kept (in line order), so reports stay small for any file. */
export class LineErrors {
  readonly kept: LineError[] = [];
  count = 0;

  constructor(private readonly keep: number) {}

  add(line: number, message: string): void {
    this.count++;
    if (this.kept.length < this.keep) this.kept.push({ line, message });
  }
}
