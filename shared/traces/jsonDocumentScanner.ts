import { isUtf8 } from 'node:buffer';

/**
 * Streams a JSON document that is too large to hold (a Chrome trace of gigabytes, an rrweb recording) as the
 * elements of its big array: a top-level array (`[...]`), or the arrays of chosen members of a top-level object
 * (`{"traceEvents":[...], "metadata":{...}}`). Fed bytes in chunks of any size, it follows only the document's
 * outer structure (the top-level object or array and the streamed arrays): it finds where each element starts and
 * ends, with strings and escapes honoured, and hands the element's text to the caller, who parses it with
 * JSON.parse, V8's own parser, which checks the element's whole grammar. Other members of the top-level object are
 * handed over whole when small enough (metadata), else skipped (Chrome's `systemTraceEvents` may be a string of
 * hundreds of megabytes).
 *
 * Why not a streaming JSON library: the maintained ones tokenise every byte in JavaScript. On a 200 MB Chrome
 * trace, @streamparser/json ran at 26 MB/s and stream-json at 6 MB/s (and stream-json says it is not meant for
 * untrusted input); finding element boundaries here and parsing each element natively runs at 94 MB/s, the speed
 * of reading JSON Lines. Memory is bounded by `maxElementBytes` (an element is held only while incomplete, and an
 * over-long one is skipped without being held) and `maxMemberBytes`.
 *
 * Structural errors (a missing comma, a truncated document, data after its end) are thrown as
 * JsonDocumentError with the byte offset; they end the document, since nothing after them can be trusted.
 */

export class JsonDocumentError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'JsonDocumentError';
  }
}

/** Where a value is in the document: byte offsets, `end` exclusive. */
export interface ValueSpan {
  start: number;
  end: number;
}

export interface JsonDocumentHandlers {
  /** A streamed array begins (`key` null: the document is a top-level array). */
  arrayStart?(key: string | null): void;
  /** The next element of a streamed array (`key` is null for a top-level array); `text` is its JSON. */
  element(key: string | null, index: number, text: string, span: ValueSpan): void;
  /** An element over maxElementBytes (or not UTF-8): it was skipped. */
  unreadableElement(key: string | null, index: number, reason: string): void;
  /** A member of the top-level object that is not streamed: its JSON text, or null when over maxMemberBytes. */
  member(key: string, text: string | null, span: ValueSpan): void;
}

export interface JsonDocumentOptions {
  /** Members of a top-level object whose array value is streamed element by element. */
  streamedKeys: ReadonlySet<string>;
  maxElementBytes: number;
  maxMemberBytes: number;
}

const enum State {
  Start,
  ObjectFirstKey,
  ObjectKey,
  ObjectColon,
  ObjectValue,
  ObjectAfterValue,
  ArrayFirst,
  ArrayNext,
  ArrayAfter,
  InValue,
  End,
}

const enum Target {
  Key,
  Member,
  Element,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MAX_KEY_BYTES = 64 * 1024;
const BOM = [0xef, 0xbb, 0xbf];

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function isScalarStart(byte: number): boolean {
  return byte === 0x2d || (byte >= 0x30 && byte <= 0x39) || byte === 0x74 || byte === 0x66 || byte === 0x6e;
}

/** A scalar (number, true, false, null) ends at the first byte that cannot be part of it. */
function endsScalar(byte: number): boolean {
  return isWhitespace(byte) || byte === COMMA || byte === CLOSE_BRACKET || byte === CLOSE_BRACE;
}

export class JsonDocumentScanner {
  readonly #handlers: JsonDocumentHandlers;
  readonly #options: JsonDocumentOptions;
  #state = State.Start;
  /** Where the value being read returns to when it ends. */
  #valueTarget = Target.Element;
  #offset = 0;
  #kind: 'array' | 'object' | undefined;
  /** The member whose array is being streamed (null: the top-level array), or whose value is being read. */
  #key: string | null = null;
  #index = 0;
  /** Bytes of a byte order mark read so far. */
  #bomBytes = 0;

  // The value being read.
  #depth = 0;
  #inString = false;
  #escaped = false;
  #scalar = false;
  #pieces: Buffer[] = [];
  #pieceBytes = 0;
  #limit = 0;
  #oversized = false;
  #started = false;
  /** Offset in the document of the value being read. */
  #valueStart = 0;
  /** Offset of the next backslash in the chunk being read (-1: none left; -2: not looked for yet). */
  #nextBackslash = -2;

  constructor(handlers: JsonDocumentHandlers, options: JsonDocumentOptions) {
    this.#handlers = handlers;
    this.#options = options;
  }

  /** `array` or `object` once the first byte of the document has been read. */
  get kind(): 'array' | 'object' | undefined {
    return this.#kind;
  }

  get sizeBytes(): number {
    return this.#offset;
  }

  /**
   * Bytes before this offset belong to values already handed over, skipped, or the structure between them: what
   * a caller keeps of the input beyond it may still be part of a value it will be handed.
   */
  get settledBytes(): number {
    return this.#state === State.InValue && !this.#oversized ? this.#valueStart : this.#offset;
  }

  push(chunk: Buffer): void {
    this.#nextBackslash = -2;
    let i = 0;
    const length = chunk.length;
    while (i < length) {
      if (this.#state === State.InValue) {
        i = this.#readValue(chunk, i);
        continue;
      }
      const byte = chunk[i] as number;
      if (isWhitespace(byte)) {
        i++;
        continue;
      }
      i = this.#structural(chunk, i, byte);
    }
    this.#offset += length;
  }

  finish(): void {
    if (this.#state === State.InValue && this.#scalar) {
      this.#endValue(this.#offset); // a top-level scalar cannot happen, but a scalar element ends at the end of input
    }
    if (this.#state === State.Start) throw new JsonDocumentError('The document is empty.', this.#offset);
    if (this.#state !== State.End) {
      throw new JsonDocumentError('The document ends before its closing bracket: it is cut short.', this.#offset);
    }
  }

  #fail(message: string, chunkIndex: number): never {
    throw new JsonDocumentError(message, this.#offset + chunkIndex);
  }

  /** One byte of the outer structure (not whitespace); answers where to go on. */
  #structural(chunk: Buffer, i: number, byte: number): number {
    switch (this.#state) {
      case State.Start:
        // A UTF-8 byte order mark (EF BB BF) may open the document, in as many chunks as it likes.
        if (this.#bomBytes < 3 && this.#offset + i === this.#bomBytes && byte === BOM[this.#bomBytes]) {
          this.#bomBytes++;
          return i + 1;
        }
        if (this.#bomBytes > 0 && this.#bomBytes < 3) this.#fail('The document starts with an incomplete byte order mark.', i);
        if (byte === OPEN_BRACKET) {
          this.#kind = 'array';
          this.#key = null;
          this.#index = 0;
          this.#state = State.ArrayFirst;
          this.#handlers.arrayStart?.(null);
          return i + 1;
        }
        if (byte === OPEN_BRACE) {
          this.#kind = 'object';
          this.#state = State.ObjectFirstKey;
          return i + 1;
        }
        return this.#fail('The document is neither a JSON array nor a JSON object.', i);
      case State.ObjectFirstKey:
      case State.ObjectKey:
        if (byte === CLOSE_BRACE && this.#state === State.ObjectFirstKey) {
          this.#state = State.End;
          return i + 1;
        }
        if (byte !== QUOTE) return this.#fail('Expected a member name (a string) in the top-level object.', i);
        this.#beginValue(Target.Key, MAX_KEY_BYTES, i);
        return i; // the quote is read as part of the key
      case State.ObjectColon:
        if (byte !== COLON) return this.#fail(`Expected ":" after the member name "${this.#key}".`, i);
        this.#state = State.ObjectValue;
        return i + 1;
      case State.ObjectValue:
        if (byte === OPEN_BRACKET && this.#key !== null && this.#options.streamedKeys.has(this.#key)) {
          this.#index = 0;
          this.#state = State.ArrayFirst;
          this.#handlers.arrayStart?.(this.#key);
          return i + 1;
        }
        this.#beginValue(Target.Member, this.#options.maxMemberBytes, i);
        return i;
      case State.ObjectAfterValue:
        if (byte === COMMA) {
          this.#state = State.ObjectKey;
          return i + 1;
        }
        if (byte === CLOSE_BRACE) {
          this.#state = State.End;
          return i + 1;
        }
        return this.#fail('Expected "," or "}" in the top-level object.', i);
      case State.ArrayFirst:
      case State.ArrayNext:
        if (byte === CLOSE_BRACKET && this.#state === State.ArrayFirst) return this.#closeArray(i);
        this.#beginValue(Target.Element, this.#options.maxElementBytes, i);
        return i;
      case State.ArrayAfter:
        if (byte === COMMA) {
          this.#state = State.ArrayNext;
          return i + 1;
        }
        if (byte === CLOSE_BRACKET) return this.#closeArray(i);
        return this.#fail(`Expected "," or "]" after element ${this.#index - 1}.`, i);
      case State.End:
        return this.#fail('There is data after the end of the JSON document.', i);
      default:
        return this.#fail('Unexpected state.', i);
    }
  }

  #closeArray(i: number): number {
    this.#state = this.#key === null ? State.End : State.ObjectAfterValue;
    return i + 1;
  }

  #beginValue(target: Target, limit: number, chunkIndex: number): void {
    this.#valueStart = this.#offset + chunkIndex;
    this.#valueTarget = target;
    this.#state = State.InValue;
    this.#depth = 0;
    this.#inString = false;
    this.#escaped = false;
    this.#scalar = false;
    this.#pieces = [];
    this.#pieceBytes = 0;
    this.#limit = limit;
    this.#oversized = false;
    this.#started = false;
  }

  /** Reads the value from `start`; answers the index after what it consumed. */
  #readValue(chunk: Buffer, start: number): number {
    let i = start;
    const length = chunk.length;
    if (!this.#started) {
      this.#started = true;
      const first = chunk[i] as number;
      if (first === OPEN_BRACE || first === OPEN_BRACKET) {
        this.#depth = 1;
        i++;
      } else if (first === QUOTE) {
        this.#inString = true;
        i++;
      } else if (isScalarStart(first) && this.#valueTarget !== Target.Key) {
        this.#scalar = true;
        i++;
      } else {
        return this.#fail(
          this.#valueTarget === Target.Element ? `Element ${this.#index} is not a JSON value.` : 'Expected a JSON value.',
          i,
        );
      }
    }
    let end = -1; // exclusive end of the value in this chunk, once found
    while (i < length) {
      if (this.#inString) {
        if (this.#escaped) {
          this.#escaped = false;
          i++;
          continue;
        }
        const quote = chunk.indexOf(QUOTE, i);
        // Looked up again only once passed: searching from every string would be quadratic in the chunk.
        if (this.#nextBackslash === -2 || (this.#nextBackslash !== -1 && this.#nextBackslash < i)) {
          this.#nextBackslash = chunk.indexOf(BACKSLASH, i);
        }
        const backslash = this.#nextBackslash;
        if (backslash !== -1 && (quote === -1 || backslash < quote)) {
          // An escape: the next byte (perhaps in the next chunk) is taken literally.
          if (backslash + 1 < length) {
            i = backslash + 2;
          } else {
            this.#escaped = true;
            i = length;
          }
          continue;
        }
        if (quote === -1) {
          i = length;
          break;
        }
        this.#inString = false;
        i = quote + 1;
        if (this.#depth === 0) {
          end = i;
          break;
        }
        continue;
      }
      const byte = chunk[i] as number;
      if (this.#scalar) {
        if (endsScalar(byte)) {
          end = i;
          break;
        }
        i++;
        continue;
      }
      if (byte === QUOTE) {
        this.#inString = true;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        this.#depth++;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        this.#depth--;
        if (this.#depth === 0) {
          end = i + 1;
          break;
        }
      }
      i++;
    }
    this.#hold(chunk, start, end === -1 ? length : end);
    if (end === -1) return length;
    this.#endValue(this.#offset + end);
    return end;
  }

  #hold(chunk: Buffer, from: number, to: number): void {
    if (this.#oversized || to <= from) return;
    if (this.#pieceBytes + (to - from) > this.#limit) {
      this.#oversized = true;
      this.#pieces = [];
      this.#pieceBytes = 0;
      return;
    }
    // Copied: the caller may reuse the chunk's memory once push returns.
    this.#pieces.push(Buffer.from(chunk.subarray(from, to)));
    this.#pieceBytes += to - from;
  }

  /** The value ends at `valueEnd` (exclusive), an offset in the document. */
  #endValue(valueEnd: number): void {
    const span = { start: this.#valueStart, end: valueEnd };
    const bytes = this.#oversized ? undefined : this.#pieces.length === 1 ? this.#pieces[0] : Buffer.concat(this.#pieces);
    this.#pieces = [];
    this.#pieceBytes = 0;
    switch (this.#valueTarget) {
      case Target.Key: {
        if (!bytes || !isUtf8(bytes)) {
          throw new JsonDocumentError('A member name of the top-level object is too long or not UTF-8.', this.#offset);
        }
        let key: unknown;
        try {
          key = JSON.parse(bytes.toString('utf8'));
        } catch {
          throw new JsonDocumentError('A member name of the top-level object is not a valid JSON string.', this.#offset);
        }
        this.#key = key as string;
        this.#state = State.ObjectColon;
        return;
      }
      case Target.Member:
        this.#handlers.member(this.#key as string, bytes && isUtf8(bytes) ? bytes.toString('utf8') : null, span);
        this.#state = State.ObjectAfterValue;
        return;
      case Target.Element: {
        const index = this.#index++;
        this.#state = State.ArrayAfter;
        if (!bytes) {
          this.#handlers.unreadableElement(this.#key, index, `it is longer than ${this.#options.maxElementBytes} bytes`);
        } else if (!isUtf8(bytes)) {
          this.#handlers.unreadableElement(this.#key, index, 'it is not valid UTF-8');
        } else {
          this.#handlers.element(this.#key, index, bytes.toString('utf8'), span);
        }
      }
    }
  }
}
