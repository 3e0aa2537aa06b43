import { JsonDocumentScanner } from './jsonDocumentScanner.js';
import { isObject } from './canonicalEvent.js';

/**
 * The recordings an upload may hold (CONTRACT.md, Trace formats), and how an upload's format is recognised from
 * its first bytes when the client does not name it.
 */
export const TRACE_FORMATS = ['recorder-jsonl', 'tracepipe-jsonl', 'chrome-trace', 'recorder-bundle', 'rrweb'] as const;
export type TraceFormat = (typeof TRACE_FORMATS)[number];

/** How much of the upload detection reads. */
export const DETECTION_BYTES = 1024 * 1024;

/** The file name a format's upload gets when the client gives none (the original keeps it). */
export const DEFAULT_FILE_NAMES: Record<TraceFormat | 'unknown', string> = {
  'recorder-jsonl': 'input_events.jsonl',
  'tracepipe-jsonl': 'input_events.jsonl',
  'chrome-trace': 'trace.json',
  'recorder-bundle': 'recording.zip',
  rrweb: 'rrweb.json',
  unknown: 'upload',
};

/** Top-level members of Chrome's JSON Object Format (besides traceEvents), as the Trace Event Format lists them. */
const CHROME_OBJECT_KEYS = new Set([
  'traceEvents', 'metadata', 'displayTimeUnit', 'systemTraceEvents', 'otherData', 'stackFrames', 'samples',
  'controllerTraceDataKey', 'powerTraceAsString',
]);

export type Detection = { ok: true; format: TraceFormat } | { ok: false; message: string };

const ACCEPTED = 'recorder JSON Lines, Tracepipe JSON Lines, a Chrome trace (JSON), an rrweb recording (JSON array) or a recorder folder as a .zip';

/**
 * Recognises the format from the upload's first bytes (`complete` when they are the whole upload). JSON Lines are
 * told apart by their first line; JSON documents by their first element (or their first member name, when the
 * first element does not fit in the bytes read).
 */
export function detectTraceFormat(prefix: Buffer, complete: boolean): Detection {
  if (prefix[0] === 0x50 && prefix[1] === 0x4b && (prefix[2] === 0x03 || prefix[2] === 0x05) && (prefix[3] === 0x04 || prefix[3] === 0x06)) {
    return { ok: true, format: 'recorder-bundle' };
  }
  if (prefix[0] === 0x1f && prefix[1] === 0x8b) {
    return { ok: false, message: `The upload is gzip-compressed; upload the trace itself (${ACCEPTED}).` };
  }
  let start = prefix[0] === 0xef && prefix[1] === 0xbb && prefix[2] === 0xbf ? 3 : 0;
  while (start < prefix.length && isWhitespace(prefix[start] as number)) start++;
  const first = prefix[start];
  if (first === 0x5b) return detectArray(prefix.subarray(start));
  if (first === 0x7b) return detectObjectOrLines(prefix.subarray(start), complete);
  if (first === undefined) return { ok: false, message: 'The upload holds nothing but white space.' };
  return { ok: false, message: `The upload is not a recording this API reads (it starts with ${describeStart(prefix.subarray(start))}); send ${ACCEPTED}.` };
}

function detectArray(text: Buffer): Detection {
  let firstElement: string | undefined;
  const scanner = new JsonDocumentScanner(
    {
      element: (_key, index, element) => {
        if (index === 0) firstElement = element;
      },
      unreadableElement: () => undefined,
      member: () => undefined,
    },
    { streamedKeys: new Set(), maxElementBytes: DETECTION_BYTES, maxMemberBytes: 0 },
  );
  try {
    scanner.push(text);
  } catch {
    // the prefix may end mid-document; what was seen before that still counts
  }
  if (firstElement !== undefined) {
    let event: unknown;
    try {
      event = JSON.parse(firstElement);
    } catch {
      return { ok: false, message: 'The first element of the JSON array is not valid JSON.' };
    }
    if (isObject(event)) {
      if ('ph' in event || ('pid' in event && 'ts' in event)) return { ok: true, format: 'chrome-trace' };
      if (typeof event.type === 'number' && typeof event.timestamp === 'number') return { ok: true, format: 'rrweb' };
    }
    return { ok: false, message: 'The JSON array holds neither Chrome trace events ({ph, ts, ...}) nor rrweb events ({type, data, timestamp}).' };
  }
  const head = text.toString('utf8', 0, Math.min(text.length, 4096));
  if (/^\[\s*\]/.test(head)) return { ok: true, format: 'chrome-trace' }; // an empty trace: indexing says it has no events
  if (/"ph"\s*:/.test(head)) return { ok: true, format: 'chrome-trace' };
  if (/"timestamp"\s*:\s*\d/.test(head) && /"type"\s*:\s*\d/.test(head)) return { ok: true, format: 'rrweb' };
  return { ok: false, message: 'The JSON array holds neither Chrome trace events nor rrweb events.' };
}

function detectObjectOrLines(text: Buffer, complete: boolean): Detection {
  const newline = text.indexOf(0x0a);
  const lineEnd = newline === -1 ? (complete ? text.length : -1) : newline;
  if (lineEnd !== -1) {
    let line = text.toString('utf8', 0, lineEnd);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (isObject(value)) {
      if ('traceEvents' in value) return { ok: true, format: 'chrome-trace' };
      if ('timestamp' in value && 'action' in value) return { ok: true, format: 'recorder-jsonl' };
      if ('ts' in value && ('type' in value || 'name' in value)) return { ok: true, format: 'tracepipe-jsonl' };
      return {
        ok: false,
        message:
          'Line 1 is a JSON object but not an event of a known format: recorder events have `timestamp` and ' +
          '`action`, Tracepipe events `ts` and `type` (or `name`), Chrome traces `traceEvents`.',
      };
    }
  }
  // A JSON document spread over lines, or a first line longer than what was read: its first member name tells.
  const key = /^\{\s*"([A-Za-z_-]{1,64})"\s*:/.exec(text.toString('utf8', 0, Math.min(text.length, 4096)))?.[1];
  if (key && CHROME_OBJECT_KEYS.has(key)) return { ok: true, format: 'chrome-trace' };
  if (key === 'timestamp' || key === 'action' || key === 'suite' || key === 'tab' || key === 'url') {
    return { ok: true, format: 'recorder-jsonl' };
  }
  if (key === 'ts' || key === 'type' || key === 'name') return { ok: true, format: 'tracepipe-jsonl' };
  return { ok: false, message: `Line 1 is not valid JSON, and the upload is not a recording this API reads; send ${ACCEPTED}.` };
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function describeStart(bytes: Buffer): string {
  const head = bytes.subarray(0, 16);
  const printable = head.every((byte) => byte >= 0x20 && byte < 0x7f);
  return printable ? JSON.stringify(head.toString('latin1')) : `the bytes ${head.toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}
