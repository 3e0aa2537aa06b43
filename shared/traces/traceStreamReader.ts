import { JsonlObjectReader, MAX_LINE_BYTES } from '../jsonl/jsonlObjectReader.js';
import { ChromeTraceConverter, CHROME_EVENT_ARRAYS, CHROME_METADATA_MEMBER } from './chromeTraceEvents.js';
import { JsonDocumentError, JsonDocumentScanner, type ValueSpan } from './jsonDocumentScanner.js';
import { defaultRedactor, type ElementKind, type TraceRedactor } from './redaction/traceRedactor.js';
import { convertRecorderEvent, convertTracepipeEvent } from './recorderEvents.js';
import { RrwebConverter } from './rrwebEvents.js';
import type { TraceFormat } from './traceFormats.js';
import type { TraceSummary } from './traceSummary.js';

/**
 * Reads an upload that is one stream of bytes (every format but the zip bundle) into a TraceSummary: fed chunks of
 * any size, it converts each event to the canonical line and queues it in the summary, in memory bounded by the
 * line and element limits. Pure: no I/O, so that it is unit-tested on bytes and benchmarked apart from storage.
 *
 * Every element is redacted as it is parsed, before it is converted (redaction/traceRedactor.ts): an element in
 * which something was masked is reported to `rewrite` with where it is in the upload and its masked JSON, so that
 * the original can be stored with the same masks.
 */

/** JSON documents: an element (one event) may be this long; longer ones are counted as dropped, not read. */
export const MAX_JSON_ELEMENT_BYTES = 16 * 1024 * 1024;
/** Chrome's `metadata` (and any other member but traceEvents) is read up to this size, else skipped. */
export const MAX_JSON_MEMBER_BYTES = 16 * 1024 * 1024;

export type TraceClock = { origin: number; clock: 'absolute' | 'relative' };
export type StreamFormat = Exclude<TraceFormat, 'recorder-bundle'>;

export interface TraceStreamReader {
  push(chunk: Buffer): void;
  finish(): void;
  /** What to add to every event's time when it is written, and whether the times are wall-clock ones. */
  clock(): TraceClock;
  /** Whether the time origin is known only once the whole upload has been read (the events must then wait). */
  readonly anchoredAtEnd: boolean;
  /**
   * Whether the canonical trace is, so far, the upload itself byte for byte: every line a valid event kept as it
   * is, in time order, with LF endings. Only a recorder trace can be; other formats answer false.
   */
  readonly identical: boolean;
  /** Bytes of the upload before this offset are settled: no `rewrite` will name them any more. */
  readonly settledBytes: number;
}

export interface StreamRedaction {
  /** The trace's redactor; by default passwords and the default content rules (card numbers). */
  redactor?: TraceRedactor;
  /** The upload's bytes in `span` are to be stored as `text` (the element, masked) in the original. */
  rewrite?(span: ValueSpan, text: string): void;
}

const ABSOLUTE: TraceClock = { origin: 0, clock: 'absolute' };

export function createTraceStreamReader(
  format: StreamFormat,
  summary: TraceSummary,
  redaction: StreamRedaction = {},
): TraceStreamReader {
  const redactor = redaction.redactor ?? defaultRedactor();
  /** The element redacted; one in which something was masked is reported for the original. */
  const redact = <T>(kind: ElementKind, value: T, text: string, span: ValueSpan): { value: T; masked: boolean } => {
    const redacted = redactor.redact(kind, value, text);
    if (redacted.masked) redaction.rewrite?.(span, JSON.stringify(redacted.value));
    return redacted;
  };
  switch (format) {
    case 'recorder-jsonl':
    case 'tracepipe-jsonl':
      return jsonLinesReader(format, summary, redact);
    case 'chrome-trace':
      return chromeTraceReader(summary, redact);
    case 'rrweb':
      return rrwebReader(summary, redact);
  }
}

type Redact = <T>(kind: ElementKind, value: T, text: string, span: ValueSpan) => { value: T; masked: boolean };

function jsonLinesReader(format: 'recorder-jsonl' | 'tracepipe-jsonl', summary: TraceSummary, redact: Redact): TraceStreamReader {
  let identical = format === 'recorder-jsonl';
  let lastTime = -Infinity;
  const reader = new JsonlObjectReader(
    {
      object: (line, value, text, span, exact) => {
        const redacted = redact('recorder', value, text, span);
        // A line kept byte for byte is only one in which nothing was masked.
        const raw = redacted.masked ? null : text;
        const converted = format === 'recorder-jsonl' ? convertRecorderEvent(redacted.value, raw) : convertTracepipeEvent(redacted.value);
        if (identical) {
          identical = exact && converted.ok && converted.record.text === text && converted.record.time >= lastTime;
          if (converted.ok) lastTime = converted.record.time;
        }
        const errors = summary.errorCount;
        summary.add({ line }, converted);
        if (summary.errorCount !== errors) identical = false; // refused by the summary's own checks
      },
      error: (line, message) => {
        identical = false;
        summary.error({ line }, message);
      },
    },
    MAX_LINE_BYTES,
  );
  return {
    anchoredAtEnd: false,
    push: (chunk) => reader.push(chunk),
    finish: () => reader.finish(),
    clock: () => ABSOLUTE,
    get identical() {
      return identical;
    },
    get settledBytes() {
      return reader.settledBytes;
    },
  };
}

interface JsonDocumentReaderOptions {
  streamedKeys: ReadonlySet<string>;
  /** Only a top-level array is accepted (rrweb); else a top-level object with streamed arrays may be too. */
  arrayOnly: boolean;
  what: string;
  convert(index: number, value: unknown, text: string, span: ValueSpan): void;
  member?(key: string, text: string | null, span: ValueSpan): void;
  /** Called once the whole document has been read without a structural error; `sawArray` if events were there. */
  atEnd(sawArray: boolean): void;
}

/** A JSON document's elements through `convert`; a broken document ends with one error where it broke. */
function jsonDocumentReader(
  summary: TraceSummary,
  options: JsonDocumentReaderOptions,
): Pick<TraceStreamReader, 'push' | 'finish' | 'settledBytes'> {
  let nextIndex = 0;
  let broken = false;
  let sawArray = false;
  const scanner = new JsonDocumentScanner(
    {
      arrayStart: () => {
        sawArray = true;
      },
      element: (_key, index, text, span) => {
        nextIndex = index + 1;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (error) {
          summary.error({ index }, `The event is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
          return;
        }
        options.convert(index, value, text, span);
      },
      unreadableElement: (_key, index, reason) => {
        nextIndex = index + 1;
        if (reason.startsWith('it is longer')) summary.drop(); // no input event is that long
        else summary.error({ index }, `The event cannot be read: ${reason}.`);
      },
      member: (key, text, span) => options.member?.(key, text, span),
    },
    { streamedKeys: options.streamedKeys, maxElementBytes: MAX_JSON_ELEMENT_BYTES, maxMemberBytes: MAX_JSON_MEMBER_BYTES },
  );
  const fail = (error: unknown) => {
    if (!(error instanceof JsonDocumentError)) throw error;
    broken = true;
    summary.error({ index: nextIndex }, `${error.message} (at byte ${error.offset})`);
  };
  return {
    push: (chunk) => {
      if (broken) return;
      try {
        scanner.push(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      if (options.arrayOnly && scanner.kind === 'object') {
        broken = true;
        summary.fileError(`${options.what} is a JSON array of events; this upload is a JSON object.`);
      }
    },
    finish: () => {
      if (broken) return;
      try {
        scanner.finish();
      } catch (error) {
        fail(error);
        return;
      }
      options.atEnd(sawArray);
    },
    get settledBytes() {
      // Nothing after a structural error is read, so nothing after it will be rewritten.
      return broken ? Number.MAX_SAFE_INTEGER : scanner.settledBytes;
    },
  };
}

/** A member of the top-level object (Chrome's metadata...), redacted like an element when it can be read. */
function redactMember(redact: Redact, text: string | null, span: ValueSpan): string | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text; // not JSON: the document's own error says so
  }
  const redacted = redact('document', value, text, span);
  return redacted.masked ? JSON.stringify(redacted.value) : text;
}

function chromeTraceReader(summary: TraceSummary, redact: Redact): TraceStreamReader {
  const converter = new ChromeTraceConverter();
  const document = jsonDocumentReader(summary, {
    streamedKeys: CHROME_EVENT_ARRAYS,
    arrayOnly: false,
    what: 'A Chrome trace',
    convert: (index, value, text, span) => {
      const converted = converter.convert(redact('document', value, text, span).value);
      if (converted === 'dropped') summary.drop();
      else summary.add({ index }, converted);
    },
    member: (key, text, span) => {
      const redacted = redactMember(redact, text, span);
      if (key === CHROME_METADATA_MEMBER) converter.readMetadata(redacted);
    },
    atEnd: (sawArray) => {
      if (!sawArray) summary.fileError('The Chrome trace has no `traceEvents` array.');
      else if (summary.eventCount === 0 && summary.errorCount === 0) {
        summary.fileError(
          'The Chrome trace has no input events (EventDispatch of keyboard, mouse, pointer, touch, wheel or scroll ' +
            'events): record it with the devtools.timeline category.',
        );
      }
    },
  });
  return {
    anchoredAtEnd: true,
    identical: false,
    push: document.push,
    finish: document.finish,
    clock: () => converter.origin(),
    get settledBytes() {
      return document.settledBytes;
    },
  };
}

function rrwebReader(summary: TraceSummary, redact: Redact): TraceStreamReader {
  const converter = new RrwebConverter();
  const document = jsonDocumentReader(summary, {
    streamedKeys: new Set(),
    arrayOnly: true,
    what: 'An rrweb recording',
    convert: (index, value, text, span) => {
      const converted = converter.convert(redact('rrweb', value, text, span).value);
      if (converted === 'dropped') summary.drop();
      else for (const event of converted) summary.add({ index }, event);
    },
    atEnd: () => {
      if (summary.eventCount === 0 && summary.errorCount === 0) summary.fileError('The rrweb recording has no input events.');
    },
  });
  return {
    anchoredAtEnd: false,
    identical: false,
    push: document.push,
    finish: document.finish,
    clock: () => ABSOLUTE,
    get settledBytes() {
      return document.settledBytes;
    },
  };
}
