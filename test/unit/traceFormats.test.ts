import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleLayout, imageFormatOf } from '../../shared/traces/bundleLayout.js';
import { TIMESTAMP_SLOT, type TraceRecord } from '../../shared/traces/canonicalEvent.js';
import { ChromeTraceConverter, isChromeInputType } from '../../shared/traces/chromeTraceEvents.js';
import { JsonDocumentError, JsonDocumentScanner } from '../../shared/traces/jsonDocumentScanner.js';
import { convertRecorderEvent, convertTracepipeEvent } from '../../shared/traces/recorderEvents.js';
import { ReorderWindow } from '../../shared/traces/reorderWindow.js';
import { RrwebConverter } from '../../shared/traces/rrwebEvents.js';
import { detectTraceFormat, type TraceFormat } from '../../shared/traces/traceFormats.js';
import { createTraceStreamReader, type StreamFormat } from '../../shared/traces/traceStreamReader.js';
import { MAX_EVENT_TYPES, MAX_REPORTED_ERRORS, TraceSummary } from '../../shared/traces/traceSummary.js';
import { formatIsoTimestamp, parseIsoTimestamp } from '../../shared/traces/traceTime.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';

/** Pure parts of trace indexing: times, the JSON document scanner, format detection, each format's conversion. */

const SAMPLES = join(PROJECT_ROOT, 'test/fixtures/samples');
const sample = (name: string) => readFileSync(join(SAMPLES, name));

/** Reads `bytes` as `format` in chunks of `chunkSize`; answers the summary and the lines as they would be written. */
function readAs(format: StreamFormat, bytes: Buffer, chunkSize = 65_536) {
  const summary = new TraceSummary();
  const reader = createTraceStreamReader(format, summary);
  const records: TraceRecord[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    reader.push(bytes.subarray(offset, offset + chunkSize));
    records.push(...summary.takePending());
  }
  reader.finish();
  records.push(...summary.takePending());
  const { origin, clock } = reader.clock();
  const lines = records.map((record) => record.text.replace(TIMESTAMP_SLOT, formatIsoTimestamp(record.time + origin)));
  return { figures: summary.figures(), lines, clock, origin, records };
}

describe('ISO 8601 timestamps', () => {
  it.each([
    ['2026-01-06T20:30:01.337745+00:00', '2026-01-06T20:30:01.337745+00:00'],
    ['2026-01-06T20:30:01Z', '2026-01-06T20:30:01.000000+00:00'],
    ['2026-01-06t20:30:01.3z', '2026-01-06T20:30:01.300000+00:00'],
    ['2026-01-06 21:30:01.5+01:00', '2026-01-06T20:30:01.500000+00:00'],
    ['2026-01-06T15:00:01,25-0530', '2026-01-06T20:30:01.250000+00:00'],
    ['2026-01-06T12:30:01-08', '2026-01-06T20:30:01.000000+00:00'],
    ['2026-01-06T20:30:01.123456789+00:00', '2026-01-06T20:30:01.123456+00:00'], // truncated, not rounded
    ['2016-12-31T23:59:60Z', '2016-12-31T23:59:59.999999+00:00'], // a leap second
  ])('reads %s as %s', (input, canonical) => {
    const parsed = parseIsoTimestamp(input);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(formatIsoTimestamp(parsed.time)).toBe(canonical);
  });

  it.each([
    ['2026-01-06T20:30:01', 'has no UTC offset'],
    ['2026-02-30T20:30:01Z', 'has a date that does not exist'],
    ['2026-01-06T24:30:01Z', 'has a time of day that does not exist'],
    ['2026-01-06T20:30:01+25:00', 'has a UTC offset that does not exist'],
    ['1969-12-31T23:59:59Z', 'is outside the years 1970 to 9999'],
    ['yesterday', 'is not an ISO 8601 timestamp'],
    [`2026-01-06T20:30:01.${'1'.repeat(80)}Z`, 'is not an ISO 8601 timestamp'],
  ])('refuses %s: it %s', (input, message) => {
    expect(parseIsoTimestamp(input)).toEqual({ ok: false, message: expect.stringContaining(message) });
  });
});

describe('JsonDocumentScanner', () => {
  function scan(text: string | Buffer, chunkSize: number, options: { keys?: string[]; maxElement?: number; maxMember?: number } = {}) {
    const seen: string[] = [];
    const scanner = new JsonDocumentScanner(
      {
        arrayStart: (key) => seen.push(`[${key ?? ''}`),
        element: (key, index, value) => seen.push(`${key ?? ''}#${index}=${value}`),
        unreadableElement: (key, index, reason) => seen.push(`${key ?? ''}#${index}!${reason}`),
        member: (key, value) => seen.push(`${key}:${value ?? '(too large)'}`),
      },
      {
        streamedKeys: new Set(options.keys ?? ['traceEvents']),
        maxElementBytes: options.maxElement ?? 1024,
        maxMemberBytes: options.maxMember ?? 1024,
      },
    );
    const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
    for (let offset = 0; offset < bytes.length; offset += chunkSize) scanner.push(bytes.subarray(offset, offset + chunkSize));
    scanner.finish();
    return seen;
  }

  const tricky = '{"a":"x\\"]}","b":["\\\\",{"c":"\\u005d"}],"d":-1.5e3}';

  it('hands over each element of a top-level array, whatever the chunk boundaries', () => {
    const text = `\ufeff[ ${tricky} , 12 ,"s]\\"" , true,null ,[[1],[2]] ]\n`;
    const whole = scan(text, text.length);
    expect(whole).toEqual(['[', `#0=${tricky}`, '#1=12', '#2="s]\\""', '#3=true', '#4=null', '#5=[[1],[2]]']);
    for (const size of [1, 2, 3, 5, 7, 13]) expect(scan(text, size)).toEqual(whole);
    for (const value of whole.slice(1)) JSON.parse(value.slice(value.indexOf('=') + 1)); // each is valid JSON
  });

  it('streams the named arrays of a top-level object and hands over its other members whole', () => {
    const text = `{"metadata":{"x":"}"},"traceEvents":[${tricky},{"n":2}],"other":[1,2],"big":"${'z'.repeat(2000)}"}`;
    const whole = scan(text, text.length);
    expect(whole).toEqual(['metadata:{"x":"}"}', '[traceEvents', `traceEvents#0=${tricky}`, 'traceEvents#1={"n":2}', 'other:[1,2]', 'big:(too large)']);
    for (const size of [1, 4, 9]) expect(scan(text, size)).toEqual(whole);
  });

  it('skips an element over the limit without holding it, and goes on', () => {
    const text = `[{"a":"${'y'.repeat(5000)}"},{"b":1}]`;
    expect(scan(text, 100, { maxElement: 1000 })).toEqual(['[', '#0!it is longer than 1000 bytes', '#1={"b":1}']);
  });

  it.each([
    ['[{"a":1} {"b":2}]', /Expected "," or "\]" after element 0/],
    ['[{"a":1},', /cut short/],
    ['{"traceEvents":[{"a":1}]', /cut short/],
    ['[1] [2]', /data after the end/],
    ['', /empty/],
    ['"text"', /neither a JSON array nor a JSON object/],
    ['{"a" 1}', /Expected ":"/],
    ['[,1]', /Element 0 is not a JSON value/],
  ])('refuses %j', (text, message) => {
    expect(() => scan(text, 3)).toThrow(JsonDocumentError);
    expect(() => scan(text, 3)).toThrow(message);
  });
});

describe('format detection', () => {
  it.each<[string, TraceFormat]>([
    ['recorder-session.jsonl', 'recorder-jsonl'],
    ['chrome-trace-small.json', 'chrome-trace'],
    ['rrweb-session.json', 'rrweb'],
    ['recorder-bundle.zip', 'recorder-bundle'],
  ])('recognises %s as %s', (file, format) => {
    const bytes = sample(file);
    expect(detectTraceFormat(bytes.subarray(0, 1024 * 1024), bytes.length <= 1024 * 1024)).toEqual({ ok: true, format });
    // From its first kilobyte alone too.
    expect(detectTraceFormat(bytes.subarray(0, 1024), false)).toEqual({ ok: true, format });
  });

  it.each<[string, string, TraceFormat]>([
    ['Tracepipe lines', '{"ts":1,"type":"keydown"}\n', 'tracepipe-jsonl'],
    ['a Chrome trace on one line', '{"traceEvents":[{"ph":"X","ts":1}]}', 'chrome-trace'],
    ['a Chrome trace as DevTools saves it', '{"metadata":{"source":"DevTools"},\n"traceEvents":[\n', 'chrome-trace'],
    ['a bare array of Chrome events', '[{"pid":1,"tid":1,"ts":5,"ph":"X","name":"x"}', 'chrome-trace'],
    ['an empty array', '[ ]', 'chrome-trace'],
  ])('recognises %s', (_what, text, format) => {
    expect(detectTraceFormat(Buffer.from(text), true)).toEqual({ ok: true, format });
  });

  it.each([
    ['gzip', Buffer.from([0x1f, 0x8b, 8, 0]), /gzip-compressed/],
    ['a JSON object of no known format', Buffer.from('{"hello":"world"}\n'), /not an event of a known format/],
    ['text', Buffer.from('hello world'), /starts with "hello world"/],
    ['binary', Buffer.from([0, 1, 2, 3]), /the bytes 00 01 02 03/],
    ['an array of something else', Buffer.from('[{"x":1}]'), /neither Chrome trace events/],
    ['white space', Buffer.from('  \n '), /nothing but white space/],
  ])('says why it cannot read %s', (_what, bytes, message) => {
    const detection = detectTraceFormat(bytes, true);
    expect(detection.ok).toBe(false);
    if (!detection.ok) expect(detection.message).toMatch(message);
  });
});

describe('recorder and Tracepipe events', () => {
  const recorderLine =
    '{"suite":"gmail","tab":1,"url":"https://mail.google.com/","timestamp":"2026-01-06T20:30:01.337745+00:00",' +
    '"action":"scroll","selector":{"tag":"div","id":"x","class":"y"},"additional_info":{"scroll_x":0,"scroll_y":100}}';

  it('keeps a recorder line with a canonical timestamp byte for byte', () => {
    const converted = convertRecorderEvent(JSON.parse(recorderLine), recorderLine);
    expect(converted).toEqual({
      ok: true,
      record: { time: Date.UTC(2026, 0, 6, 20, 30, 1) * 1000 + 337_745, text: recorderLine },
      facts: { action: 'scroll', tab: '1', url: 'https://mail.google.com/' },
    });
  });

  it('writes the timestamp canonically when it is not, keeping the other fields and their order', () => {
    const event = { action: 'keydown', timestamp: '2026-01-06T21:30:01.5+01:00', extra: [1] };
    const converted = convertRecorderEvent(event, JSON.stringify(event));
    expect(converted.ok && converted.record.text).toBe(
      '{"action":"keydown","timestamp":"2026-01-06T20:30:01.500000+00:00","extra":[1]}',
    );
  });

  it.each([
    [{ action: 'click' }, 'The event has no `timestamp`.'],
    [{ ts: 5, type: 'click' }, 'a tracepipe-jsonl event in a recorder-jsonl trace'],
    [{ timestamp: 17, action: 'click' }, '`timestamp` is a number, not a string.'],
    [{ timestamp: '2026-01-06T20:30:01', action: 'click' }, 'has no UTC offset'],
    [{ timestamp: '2026-01-06T20:30:01Z' }, 'The event has no `action`.'],
    [{ timestamp: '2026-01-06T20:30:01Z', action: '' }, '`action` is empty.'],
    [{ timestamp: '2026-01-06T20:30:01Z', action: 'x', tab: 1.5 }, '`tab` is a number, not an integer or a string.'],
    [{ timestamp: '2026-01-06T20:30:01Z', action: 'x', additional_info: [] }, '`additional_info` is an array, not an object.'],
    [{ timestamp: '2026-01-06T20:30:01Z', action: 'x', url: 'u'.repeat(9000) }, '`url` is longer than 8192 characters.'],
  ])('refuses an event (%#)', (event, message) => {
    expect(convertRecorderEvent(event, null)).toEqual({ ok: false, message: expect.stringContaining(message) });
  });

  it('turns a Tracepipe line into a recorder event: ts the timestamp, type (else name) the action, the rest kept', () => {
    const converted = convertTracepipeEvent({ ts: 1_700_000_000_123_456, type: 'keydown', name: 'k', key: 'a', url: 'https://x/' });
    expect(converted.ok && converted.record.text).toBe(
      '{"url":"https://x/","timestamp":"2023-11-14T22:13:20.123456+00:00","action":"keydown","additional_info":{"name":"k","key":"a"}}',
    );
    const byName = convertTracepipeEvent({ ts: 0, name: 'click', type: 5 });
    expect(byName.ok && byName.record.text).toBe('{"timestamp":"1970-01-01T00:00:00.000000+00:00","action":"click","additional_info":{"type":5}}');
    expect(convertTracepipeEvent({ timestamp: 'x', action: 'y' })).toMatchObject({ ok: false, message: expect.stringContaining('a recorder-jsonl event') });
    expect(convertTracepipeEvent({ ts: -1, type: 'x' })).toMatchObject({ ok: false });
  });
});

describe('the samples, read as a stream', () => {
  it('reads the recorder sample: 92 events, the canonical trace is the file itself but for its password', () => {
    const bytes = sample('recorder-session.jsonl');
    const read = readAs('recorder-jsonl', bytes);
    expect(read.figures).toMatchObject({ eventCount: 92, errorCount: 0, tabCount: 1, urlCount: 1, droppedEventCount: 0 });
    expect(read.figures.eventCounts).toMatchObject({ mousemove: 18, keydown: 17, keyup: 17, input: 16, click: 4, submit: 1 });
    // Lines without a password are kept byte for byte (test/unit/redaction.test.ts checks the masked ones).
    const uploaded = bytes.toString('utf8').trim().split('\n');
    const changed = read.lines.filter((line, index) => line !== uploaded[index]);
    // 28 keystrokes and inputs in the password field, its change, and the submitted form.
    expect(changed).toHaveLength(30);
    for (const line of changed) expect(line).toContain('[REDACTED:password]');
    expect(read.lines.join('\n')).not.toContain('pw-FAKE1');
    for (const size of [1, 17, 4096]) expect(readAs('recorder-jsonl', bytes, size).lines).toEqual(read.lines);
  });

  it("reads Chrome's trace: its EventDispatch input events, the rest dropped, anchored by its capture time", () => {
    const bytes = sample('chrome-trace-small.json');
    const document = JSON.parse(bytes.toString('utf8')) as { traceEvents: Array<{ name: string; ts: number; args?: { data?: { type?: string } } }> };
    const inputs = document.traceEvents.filter((event) => event.name === 'EventDispatch' && isChromeInputType(event.args?.data?.type ?? ''));
    const read = readAs('chrome-trace', bytes, 10_000);
    expect(read.figures.eventCount).toBe(inputs.length);
    expect(read.figures.droppedEventCount).toBe(document.traceEvents.length - inputs.length);
    expect(read.figures.eventCounts).toMatchObject({ keydown: 17, click: 4, mousemove: 18, input: 16, wheel: 2, scroll: 2, submit: 1 });
    expect(read.figures.eventCounts).not.toHaveProperty('selectionchange');
    expect(read.clock).toBe('absolute');
    // trace-capture-datetime "2026-12-1 21:22:54" (UTC) is the earliest ts.
    const earliest = Math.min(...document.traceEvents.map((event) => event.ts).filter((ts) => ts > 0));
    expect(read.origin).toBe(Date.UTC(2026, 11, 1, 21, 22, 54) * 1000 - earliest);
    const first = JSON.parse(read.lines[0] as string) as Record<string, unknown>;
    expect(first).toMatchObject({ tab: 1, action: inputs[0]?.args?.data?.type, additional_info: { pid: 13518 } });
    expect(first.timestamp).toMatch(/^2026-12-01T21:22:5\d\.\d{6}\+00:00$/);
  });

  it('keeps Chrome times relative without metadata, and anchors them to DevTools\' startTime when there is one', () => {
    const events = [
      { name: 'EventDispatch', ph: 'X', ts: 5_000_000, pid: 7, tid: 7, args: { data: { type: 'click' } } },
      { name: 'EventDispatch', ph: 'X', ts: 2_000_000, pid: 9, tid: 9, args: { data: { type: 'keydown' } } },
      { name: 'Paint', ph: 'X', ts: 1_000_000, pid: 7, tid: 7 },
    ];
    const relative = readAs('chrome-trace', Buffer.from(JSON.stringify(events)));
    expect(relative.clock).toBe('relative');
    expect(relative.lines.map((line) => (JSON.parse(line) as { timestamp: string }).timestamp)).toEqual([
      '1970-01-01T00:00:04.000000+00:00',
      '1970-01-01T00:00:01.000000+00:00',
    ]);
    expect(relative.figures).toMatchObject({ eventCount: 2, tabCount: 2, droppedEventCount: 1 });
    const devtools = readAs('chrome-trace', Buffer.from(JSON.stringify({ metadata: { startTime: '2026-03-01T10:00:00.250Z' }, traceEvents: events })));
    expect(devtools.clock).toBe('absolute');
    expect((JSON.parse(devtools.lines[0] as string) as { timestamp: string }).timestamp).toBe('2026-03-01T10:00:04.250000+00:00');
  });

  it('says a Chrome trace without input events has none, and one without traceEvents is not a trace', () => {
    const noInput = readAs('chrome-trace', Buffer.from('{"traceEvents":[{"name":"Paint","ph":"X","ts":1}]}'));
    expect(noInput.figures.errors).toEqual([{ line: 0, message: expect.stringContaining('has no input events') }]);
    expect(readAs('chrome-trace', Buffer.from('{"metadata":{}}')).figures.errors).toEqual([
      { line: 0, message: 'The Chrome trace has no `traceEvents` array.' },
    ]);
  });

  it('reads rrweb: input with the selectors of its DOM snapshot, mouse positions at their time offsets', () => {
    const read = readAs('rrweb', sample('rrweb-session.json'));
    expect(read.figures.errorCount).toBe(0);
    expect(read.figures.eventCounts).toMatchObject({ viewport: 1, click: 4, input: 16, scroll: 2, mousedown: 4, focus: 3 });
    const events = read.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const click = events.find((event) => event.action === 'click');
    expect(click).toMatchObject({ tab: 1, url: expect.stringContaining('/compose'), selector: { tag: expect.any(String) } });
    const inputs = events.filter((event) => event.action === 'input').map((event) => (event.additional_info as { value: string }).value);
    // rrweb masked the password itself (********, as long as the password); the indexer's mask is fixed.
    expect(inputs).toContain('[REDACTED:password]');
    expect(inputs).not.toContain('********');
    expect(read.figures.droppedEventCount).toBeGreaterThan(0); // the full snapshot and the mutations
  });

  it('reports a last line cut short as such', () => {
    const read = readAs('recorder-jsonl', Buffer.from(`${recorderEvent(1)}\n{"timestamp":"2026-01-06T2`));
    expect(read.figures.errors).toEqual([{ line: 2, message: expect.stringContaining('cut short') }]);
    expect(read.figures.eventCount).toBe(1);
  });

  it('names lines of another format inside a JSON Lines trace', () => {
    const text = `${recorderEvent(1)}\n{"ts":2,"type":"click"}\n${recorderEvent(3)}\n`;
    expect(readAs('recorder-jsonl', Buffer.from(text)).figures.errors).toEqual([
      { line: 2, message: expect.stringContaining('a tracepipe-jsonl event in a recorder-jsonl trace') },
    ]);
  });
});

function recorderEvent(second: number, action = 'click'): string {
  return JSON.stringify({ timestamp: `2026-01-06T20:30:${String(second).padStart(2, '0')}.000000+00:00`, action });
}

describe('RrwebConverter', () => {
  it('refuses what is not an rrweb event and drops what is not input', () => {
    const converter = new RrwebConverter();
    expect(converter.convert([1])).toEqual([{ ok: false, message: 'The rrweb event is not a JSON object.' }]);
    expect(converter.convert({ type: 3, timestamp: 'x', data: {} })).toEqual([
      { ok: false, message: 'The rrweb event has no numeric `type` and `timestamp`.' },
    ]);
    expect(converter.convert({ type: 5, timestamp: 1, data: { tag: 'x' } })).toBe('dropped');
    expect(converter.convert({ type: 3, timestamp: 1, data: { source: 8 } })).toBe('dropped');
  });
});

describe('ChromeTraceConverter', () => {
  it('refuses an input EventDispatch without a ts, and events that are not objects', () => {
    const converter = new ChromeTraceConverter();
    expect(converter.convert({ name: 'EventDispatch', args: { data: { type: 'click' } } })).toEqual({
      ok: false,
      message: 'The click EventDispatch has no numeric `ts`.',
    });
    expect(converter.convert('x')).toEqual({ ok: false, message: 'The trace event is not a JSON object.' });
    expect(converter.convert({ name: 'EventDispatch', ts: 1, args: { data: { type: 'selectionchange' } } })).toBe('dropped');
  });
});

describe('TraceSummary', () => {
  it('keeps the first errors and counts them all, and bounds the distinct actions', () => {
    const summary = new TraceSummary();
    for (let i = 0; i < MAX_EVENT_TYPES + 30; i++) {
      summary.add({ line: i + 1 }, { ok: true, record: { time: i, text: '{}' }, facts: { action: `a${i}` } });
    }
    const figures = summary.figures();
    expect(figures.eventCount).toBe(MAX_EVENT_TYPES);
    expect(figures.errorCount).toBe(30);
    expect(figures.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(figures.errors[0]).toEqual({ line: MAX_EVENT_TYPES + 1, message: `The trace has more than ${MAX_EVENT_TYPES} distinct actions.` });
    expect(figures).toMatchObject({ firstTime: 0, lastTime: MAX_EVENT_TYPES - 1 });
  });
});

describe('what the database cannot store', () => {
  it('refuses actions with NUL or lone surrogates, and quotes the upload in messages without them', () => {
    const text = [
      JSON.stringify({ timestamp: '2026-01-06T20:30:01Z', action: 'a\u0000b' }),
      JSON.stringify({ timestamp: '2026-01-06T20:30:01Z', action: 'x\ud800' }),
      JSON.stringify({ timestamp: 'bad\u0000time', action: 'click' }),
      JSON.stringify({ timestamp: '2026-01-06T20:30:01Z', action: 'a'.repeat(300) }),
    ].join('\n');
    const { figures } = readAs('recorder-jsonl', Buffer.from(text));
    expect(figures.eventCount).toBe(0);
    expect(figures.errors).toEqual([
      { line: 1, message: "The event's action must not contain the NUL character (U+0000)." },
      { line: 2, message: expect.stringContaining('lone UTF-16 surrogate') },
      { line: 3, message: '`timestamp` "bad\ufffdtime" is not an ISO 8601 timestamp (e.g. 2026-01-06T20:30:01.337745+00:00).' },
      { line: 4, message: "The event's action is longer than 256 characters." },
    ]);
    expect(JSON.stringify(figures.errors)).not.toContain('\\u0000');
  });
});

describe('ReorderWindow', () => {
  const record = (time: number, text = String(time)): TraceRecord => ({ time, text });

  it('puts nearly ordered events in order, keeping the arrival order of equal times', () => {
    const window = new ReorderWindow({ maxEvents: 3, maxBytes: 1000 });
    const out: TraceRecord[] = [];
    for (const [time, text] of [[2, 'a'], [1, 'b'], [3, 'c'], [2, 'd'], [5, 'e'], [4, 'f'], [6, 'g']] as const) {
      window.add(record(time, text), out);
    }
    window.drain(out);
    expect(window.overflowed).toBe(false);
    expect(out.map((r) => r.text)).toEqual(['b', 'a', 'd', 'c', 'f', 'e', 'g']);
  });

  it('says when an event comes later than the window can hold', () => {
    const window = new ReorderWindow({ maxEvents: 2, maxBytes: 1000 });
    const out: TraceRecord[] = [];
    for (const time of [5, 6, 7, 8, 1]) window.add(record(time), out);
    expect(window.overflowed).toBe(true);
  });
});

describe('BundleLayout', () => {
  it('finds the layout at the top or inside one folder, and ignores the rest', () => {
    const top = new BundleLayout();
    expect(top.classify('screenshot/2026-12-01T21:22:55.041500+00:00/meta.json')).toEqual({
      kind: 'screenshot-meta',
      folder: '2026-12-01T21:22:55.041500+00:00',
    });
    expect(top.classify('screenshot/t/shot.PNG')).toEqual({ kind: 'screenshot-image', folder: 't', extension: 'png' });
    expect(top.classify('input/1.json')).toEqual({ kind: 'input' });
    expect(top.classify('input/')).toEqual({ kind: 'ignored' });
    expect(top.classify('input/sub/1.json')).toEqual({ kind: 'ignored' });
    expect(top.classify('recording/input/1.json')).toEqual({ kind: 'ignored' });
    expect(top.classify('__MACOSX/input/._1.json')).toEqual({ kind: 'ignored' });

    const nested = new BundleLayout();
    expect(nested.classify('README.md')).toEqual({ kind: 'ignored' });
    expect(nested.classify('recording/input/1.json')).toEqual({ kind: 'input' });
    expect(nested.classify('input/2.json')).toEqual({ kind: 'ignored' });
    expect(nested.classify('recording/screenshot/t/s.jpg')).toEqual({ kind: 'screenshot-image', folder: 't', extension: 'jpeg' });
  });

  it('knows png, jpeg and webp by their first bytes', () => {
    expect(imageFormatOf(sampleImage())).toBe('png');
    expect(imageFormatOf(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(imageFormatOf(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(imageFormatOf(Buffer.from('GIF89a'))).toBeUndefined();
  });
});

function sampleImage(): Buffer {
  return Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
}
