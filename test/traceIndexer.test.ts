import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_EVENT_TYPES,
  MAX_LINE_BYTES,
  MAX_REPORTED_ERRORS,
  TraceIndexer,
  indexTraceStream,
  type TraceIndexResult,
} from '../shared/sessions/traceIndexer.js';

/** Indexes `bytes` fed in chunks of `chunkSize` (so that lines straddle chunk boundaries). */
function indexBytes(bytes: Buffer, chunkSize = bytes.length || 1): TraceIndexResult {
  const indexer = new TraceIndexer();
  for (let offset = 0; offset < bytes.length; offset += chunkSize) indexer.push(bytes.subarray(offset, offset + chunkSize));
  return indexer.finish();
}

function indexText(text: string, chunkSize?: number): TraceIndexResult {
  return indexBytes(Buffer.from(text, 'utf8'), chunkSize);
}

const event = (type: string, ts: number) => JSON.stringify({ type, ts });

describe('TraceIndexer', () => {
  it('accepts JSON objects with a numeric ts and a string type or name, and measures the file', () => {
    const text = [event('keydown', 1_000_000), JSON.stringify({ name: 'click', ts: 2_500_000 }), event('keydown', 1_500_000)]
      .join('\n')
      .concat('\n');
    const result = indexText(text);
    expect(result).toEqual({
      valid: true,
      sizeBytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
      lineCount: 3,
      eventCount: 3,
      eventCounts: { keydown: 2, click: 1 },
      firstTs: 1_000_000,
      lastTs: 2_500_000,
      errors: [],
      errorCount: 0,
    });
  });

  it('gives the same result whatever the chunk boundaries', () => {
    const text = Array.from({ length: 50 }, (_, i) => event(i % 3 ? 'mousemove' : 'wheel', i)).join('\r\n') + '\r\nnot json\n';
    const whole = indexText(text);
    for (const chunkSize of [1, 2, 3, 7, 64, 1000]) expect(indexText(text, chunkSize)).toEqual(whole);
    expect(whole.errors).toEqual([{ line: 51, message: expect.stringMatching(/^The line is not valid JSON/) }]);
    expect(whole.eventCounts).toEqual({ wheel: 17, mousemove: 33 });
  });

  it('prefers type over name when both are strings, and falls back to name when type is not a string', () => {
    const result = indexText(`${JSON.stringify({ type: 'a', name: 'b', ts: 1 })}\n${JSON.stringify({ type: 5, name: 'b', ts: 2 })}`);
    expect(result.eventCounts).toEqual({ a: 1, b: 1 });
    expect(result.valid).toBe(true);
  });

  it('allows a last line without a newline, and one empty last line, but no other empty line', () => {
    expect(indexText(event('a', 1)).valid).toBe(true);
    expect(indexText(`${event('a', 1)}\n`).valid).toBe(true);
    const result = indexText(`${event('a', 1)}\n\n${event('a', 2)}\n\n`);
    expect(result.errors).toEqual([
      { line: 2, message: 'The line is empty (only the last line of the file may be).' },
      { line: 4, message: 'The line is empty (only the last line of the file may be).' },
    ]);
    expect(result.lineCount).toBe(4);
  });

  it.each([
    ['not JSON', '{"ts": 1, "type": "a"', /^The line is not valid JSON/],
    ['a JSON array', '[{"ts": 1, "type": "a"}]', /^The line is an array, not a JSON object\.$/],
    ['a JSON string', '"keydown"', /^The line is a string, not a JSON object\.$/],
    ['null', 'null', /^The line is null, not a JSON object\.$/],
    ['no ts', '{"type": "a"}', /^The event has no `ts`\.$/],
    ['a string ts', '{"type": "a", "ts": "1"}', /^`ts` is a string, not a number\.$/],
    ['no type or name', '{"ts": 1, "kind": "a"}', /^The event has no string `type` or `name`\.$/],
    ['a numeric type', '{"ts": 1, "type": 3}', /^The event has no string `type` or `name`\.$/],
  ])('reports %s with its line number', (_name, badLine, message) => {
    const result = indexText(`${event('a', 1)}\n${badLine}\n${event('a', 2)}\n`);
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([{ line: 2, message: expect.stringMatching(message) }]);
    expect(result.eventCount).toBe(2);
  });

  it('reports invalid UTF-8 instead of replacing it', () => {
    const bytes = Buffer.concat([
      Buffer.from(`${event('a', 1)}\n{"ts": 2, "type": "`),
      Buffer.from([0xc3, 0x28]), // a lead byte followed by a non-continuation byte
      Buffer.from('"}\n'),
    ]);
    for (const chunkSize of [1, 5, bytes.length]) {
      expect(indexBytes(bytes, chunkSize).errors).toEqual([{ line: 2, message: 'The line is not valid UTF-8.' }]);
    }
  });

  it('accepts multi-byte UTF-8 split across chunks, and a byte order mark', () => {
    const text = `\uFEFF${event('héllo wörld ✓ 😀', 1)}\n`;
    for (const chunkSize of [1, 2, 3]) {
      expect(indexText(text, chunkSize)).toMatchObject({ valid: true, eventCounts: { 'héllo wörld ✓ 😀': 1 } });
    }
  });

  it('reports a line over 1 MiB without holding it, and goes on with the next lines', () => {
    const long = `{"ts": 1, "type": "a", "pad": "${'x'.repeat(2 * 1024 * 1024)}"}`;
    const text = `${event('a', 1)}\n${long}\n${event('b', 3)}\n${long}`;
    for (const chunkSize of [64 * 1024, 4 * 1024 * 1024]) {
      const result = indexText(text, chunkSize);
      expect(result.errors).toEqual([
        { line: 2, message: `The line is longer than ${MAX_LINE_BYTES} bytes (1 MiB).` },
        { line: 4, message: `The line is longer than ${MAX_LINE_BYTES} bytes (1 MiB).` },
      ]);
      expect(result.eventCounts).toEqual({ a: 1, b: 1 });
    }
  });

  it('accepts a line of exactly 1 MiB, with LF or CRLF', () => {
    const head = '{"ts": 1, "type": "a", "pad": "';
    const line = head + 'x'.repeat(MAX_LINE_BYTES - head.length - 2) + '"}';
    expect(Buffer.byteLength(line)).toBe(MAX_LINE_BYTES);
    for (const ending of ['\n', '\r\n']) {
      expect(indexText(line + ending, 4096).valid).toBe(true);
      expect(indexText('x' + line + ending, 4096).errors[0]?.message).toMatch(/longer than/);
    }
  });

  it('calls an empty file invalid (line 0: the file as a whole)', () => {
    expect(indexText('')).toMatchObject({
      valid: false,
      sizeBytes: 0,
      sha256: createHash('sha256').digest('hex'),
      lineCount: 0,
      errors: [{ line: 0, message: 'The file is empty: a trace needs at least one event.' }],
    });
  });

  it(`keeps the first ${MAX_REPORTED_ERRORS} errors and counts all`, () => {
    const text = Array.from({ length: 100 }, (_, i) => (i % 2 ? event('a', i) : '[]')).join('\n');
    const result = indexText(text);
    expect(result.errorCount).toBe(50);
    expect(result.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(result.errors.map((error) => error.line)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1));
  });

  it(`refuses more than ${MAX_EVENT_TYPES} distinct event types (counts stay bounded)`, () => {
    const text = Array.from({ length: MAX_EVENT_TYPES + 2 }, (_, i) => event(`type${i}`, i)).join('\n');
    const result = indexText(text);
    expect(result.errors).toEqual([
      { line: MAX_EVENT_TYPES + 1, message: `The trace has more than ${MAX_EVENT_TYPES} distinct event types.` },
      { line: MAX_EVENT_TYPES + 2, message: `The trace has more than ${MAX_EVENT_TYPES} distinct event types.` },
    ]);
  });

  it('counts an event type named like an Object prototype key as a plain key', () => {
    const result = indexText(`${event('__proto__', 1)}\n${event('constructor', 2)}\n`);
    expect(result.valid).toBe(true);
    expect(Object.keys(result.eventCounts).sort()).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(result.eventCounts))).toEqual({ ['__proto__']: 1, constructor: 1 });
  });

  it('indexes an async stream of chunks', async () => {
    async function* chunks() {
      yield Buffer.from('{"ts": 5, "ty');
      yield Buffer.from('pe": "a"}\n{"ts": 9, "name": "b"}\n');
    }
    expect(await indexTraceStream(chunks())).toMatchObject({ valid: true, eventCount: 2, firstTs: 5, lastTs: 9 });
  });
});
