import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MASKS, RedactionCounts, RedactionRules, cardNumberSpans, emailSpans, patternProblem } from '../../shared/traces/redaction/redactionRules.js';
import { TraceRedactor } from '../../shared/traces/redaction/traceRedactor.js';
import { createTraceStreamReader, type StreamFormat } from '../../shared/traces/traceStreamReader.js';
import { TraceSummary } from '../../shared/traces/traceSummary.js';
import type { ValueSpan } from '../../shared/traces/jsonDocumentScanner.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';

/** Redaction at ingestion, pure parts: the content rules, password fields, and the rewrites for the original. */

const sample = (name: string) => readFileSync(join(PROJECT_ROOT, 'test/fixtures/samples', name));
const PASSWORD = 'pw-FAKE1';

function rules(settings: Partial<ConstructorParameters<typeof RedactionRules>[0]> = {}) {
  return new RedactionRules({ emailAddresses: false, cardNumbers: true, patterns: [], ...settings });
}

function mask(text: string, settings: Parameters<typeof rules>[0] = {}) {
  const counts = new RedactionCounts();
  return { text: rules(settings).maskText(text, counts), counts: counts.toJSON() };
}

/** Reads `bytes` in chunks, applying every rewrite to the bytes as the indexer's original does. */
function readWithRewrites(format: StreamFormat, bytes: Buffer, redactor: TraceRedactor, chunkSize = 4096) {
  const summary = new TraceSummary();
  const rewrites: Array<{ span: ValueSpan; text: string }> = [];
  const settled: number[] = [];
  const reader = createTraceStreamReader(format, summary, { redactor, rewrite: (span, text) => rewrites.push({ span, text }) });
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    reader.push(bytes.subarray(offset, offset + chunkSize));
    settled.push(reader.settledBytes);
  }
  reader.finish();
  let original = '';
  let cursor = 0;
  for (const { span, text } of rewrites) {
    expect(span.start).toBeGreaterThanOrEqual(cursor);
    original += bytes.subarray(cursor, span.start).toString('utf8') + text;
    cursor = span.end;
  }
  original += bytes.subarray(cursor).toString('utf8');
  // Timestamps whose clock is known only at the end are slots (TIMESTAMP_SLOT) until written: any will do here.
  const lines = summary.takePending().map((record) => record.text.replace('\u0001', '1970-01-01T00:00:00.000000+00:00'));
  return { rewrites, original, lines, settled, figures: summary.figures() };
}

describe('content rules', () => {
  it('masks card numbers that pass the Luhn check, grouped or not, and leaves other digit runs', () => {
    expect(mask('card 4111 1111 1111 1111 exp').text).toBe(`card ${MASKS.card_number} exp`);
    expect(mask('5500-0000-0000-0004').text).toBe(MASKS.card_number);
    expect(mask('378282246310005').counts).toEqual({ card_number: 1 });
    // Not Luhn-valid, an epoch in milliseconds, part of a longer identifier, too long.
    for (const text of ['4111 1111 1111 1112', '1764624174000123', 'id4111111111111111', '41111111111111111111111']) {
      expect(mask(text).text).toBe(text);
    }
    expect(cardNumberSpans('a 4242424242424242, b 4000056655665556.')).toEqual([
      { start: 2, end: 18 },
      { start: 22, end: 38 },
    ]);
  });

  it('masks e-mail addresses when asked, and only then', () => {
    const text = 'to al@x.io,grace@example.com; not me@localhost or @handle';
    expect(mask(text).text).toBe(text);
    expect(mask(text, { emailAddresses: true })).toEqual({
      text: `to ${MASKS.email},${MASKS.email}; not me@localhost or @handle`,
      counts: { email: 2 },
    });
    expect(emailSpans('first.last+tag@mail.example.co.uk.')).toEqual([{ start: 0, end: 33 }]);
  });

  it('applies user patterns with RE2, in linear time whatever the pattern', () => {
    expect(mask('order ORD-12345678 shipped', { patterns: [{ name: 'order', pattern: 'ORD-[0-9]{8}' }] })).toEqual({
      text: 'order [REDACTED:order] shipped',
      counts: { 'custom:order': 1 },
    });
    // The classic catastrophic pattern for a backtracking engine: here it is one pass.
    const started = performance.now();
    expect(mask(`${'a'.repeat(50_000)}!`, { patterns: [{ name: 'evil', pattern: '(a+)+$' }] }).counts).toEqual({});
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('says why a pattern cannot be used', () => {
    expect(patternProblem('(a')).toMatch(/not a valid RE2 regular expression: .*missing closing \)/);
    expect(patternProblem('(\\d)\\1')).toMatch(/invalid escape sequence/);
    expect(patternProblem('(?=x)')).toMatch(/not a valid RE2/);
    expect(patternProblem('a*')).toBe('the pattern matches the empty string');
    expect(patternProblem('x'.repeat(300))).toMatch(/longer than 256/);
    expect(patternProblem('ORD-[0-9]+')).toBeUndefined();
  });
});

describe('password fields', () => {
  const redact = (event: Record<string, unknown>, redactor = new TraceRedactor(rules())) =>
    redactor.redact('recorder', event).value as Record<string, unknown>;

  it('masks every value of an event typed into a password field, whatever tells it is one', () => {
    const typed = { key: 'p', code: 'KeyP', data: 'p', value: 'pw', key_code: 80, ctrl: false, x: 3 };
    const cases: Array<Record<string, unknown>> = [
      { selector: { tag: 'input', id: 'password' }, additional_info: typed },
      { selector: { tag: 'input', id: 'field-3', class: 'x' }, additional_info: { ...typed, input_type: 'password' } },
      { selector: { tag: 'input', id: 'f' }, additional_info: { ...typed, autocomplete: 'current-password' } },
      { selector: { tag: 'input', id: 'f', autocomplete: 'new-password' }, additional_info: typed },
      { selector: 'form > input[type="password"]', additional_info: typed },
      { selector: '#userPassword', additional_info: typed },
      { selector: { tag: 'input', name: 'pwd' }, additional_info: { ...typed, field: { type: 'password' } } },
    ];
    for (const event of cases) {
      const masked = redact({ timestamp: 't', action: 'keydown', ...event });
      expect(masked.additional_info).toMatchObject({
        key: MASKS.password,
        code: MASKS.password,
        data: MASKS.password,
        value: MASKS.password,
        key_code: MASKS.password,
        ctrl: false,
        x: 3,
      });
    }
  });

  it('leaves other fields alone, and remembers a password field by its id for later events and forms', () => {
    const redactor = new TraceRedactor(rules());
    const plain = { timestamp: 't', action: 'keydown', selector: { tag: 'input', id: 'to' }, additional_info: { key: 'a' } };
    expect(redactor.redact('recorder', plain)).toEqual({ value: plain, masked: false });
    redact({ action: 'focus', selector: { tag: 'input', id: 'secret-7' }, additional_info: { input_type: 'password' } }, redactor);
    expect(redact({ action: 'input', selector: { tag: 'input', id: 'secret-7' }, additional_info: { value: 'x' } }, redactor).additional_info).toEqual({
      value: MASKS.password,
    });
    const submit = redact(
      { action: 'submit', selector: { tag: 'form' }, additional_info: { fields: { to: 'a@b.c', 'secret-7': 'x', passwd: { value: 'y' }, pin: '1' } } },
      redactor,
    );
    expect(submit.additional_info).toEqual({ fields: { to: 'a@b.c', 'secret-7': MASKS.password, passwd: { value: MASKS.password }, pin: '1' } });
    expect(redactor.counts.toJSON()).toEqual({ password: 3 });
  });

  it('masks Tracepipe line-form events, whose typed fields are at the top level', () => {
    const masked = redact({ ts: 1, type: 'keydown', selector: '#password', key: 'p', input_type: 'password' });
    expect(masked).toEqual({ ts: 1, type: 'keydown', selector: '#password', key: MASKS.password, input_type: 'password' });
  });
});

describe('redaction while a trace is read', () => {
  it('masks the recorder sample and rewrites exactly its masked lines, in any chunk size', () => {
    const bytes = sample('recorder-session.jsonl');
    for (const chunkSize of [7, 4096, 1 << 20]) {
      const read = readWithRewrites('recorder-jsonl', bytes, new TraceRedactor(rules()), chunkSize);
      expect(read.rewrites).toHaveLength(30);
      expect(read.original).not.toContain(PASSWORD);
      expect(read.lines.join('\n')).not.toContain(PASSWORD);
      // The rewritten original is the canonical trace here (the sample is already canonical and in order).
      expect(read.original).toBe(`${read.lines.join('\n')}\n`);
      for (let i = 1; i < read.settled.length; i++) expect(read.settled[i]).toBeGreaterThanOrEqual(read.settled[i - 1] as number);
    }
  });

  it('keeps CRLF line endings and a last line without a newline around the rewritten lines', () => {
    const lines = [
      '{"timestamp":"2026-12-01T21:22:56Z","action":"keydown","selector":"#password","additional_info":{"key":"s"}}',
      '{"timestamp":"2026-12-01T21:22:57Z","action":"click"}',
      '{"timestamp":"2026-12-01T21:22:58Z","action":"input","additional_info":{"value":"card 4242 4242 4242 4242"}}',
    ];
    const bytes = Buffer.from(`\uFEFF${lines.join('\r\n')}`);
    const read = readWithRewrites('recorder-jsonl', bytes, new TraceRedactor(rules()), 5);
    expect(read.original.split('\r\n')).toEqual([
      '\uFEFF{"timestamp":"2026-12-01T21:22:56Z","action":"keydown","selector":"#password","additional_info":{"key":"[REDACTED:password]"}}',
      lines[1],
      '{"timestamp":"2026-12-01T21:22:58Z","action":"input","additional_info":{"value":"card [REDACTED:card_number]"}}',
    ]);
  });

  it('masks card numbers in Chrome trace events and their metadata, rewriting those elements in place', () => {
    const document = `{"traceEvents":[{"name":"X","ts":1,"args":{"url":"https://shop/?card=4242424242424242"}},\n{"name":"EventDispatch","ts":2,"pid":1,"args":{"data":{"type":"click"}}}],\n"metadata":{"note":"5555 5555 5555 4444"}}`;
    const read = readWithRewrites('chrome-trace', Buffer.from(document), new TraceRedactor(rules()), 3);
    expect(read.rewrites).toHaveLength(2);
    expect(JSON.parse(read.original)).toEqual({
      traceEvents: [
        { name: 'X', ts: 1, args: { url: 'https://shop/?card=[REDACTED:card_number]' } },
        { name: 'EventDispatch', ts: 2, pid: 1, args: { data: { type: 'click' } } },
      ],
      metadata: { note: '[REDACTED:card_number]' },
    });
  });

  it('masks rrweb inputs on password fields the snapshot names, and the snapshot\'s values of them', () => {
    const events = [
      { type: 2, timestamp: 1, data: { node: { type: 0, childNodes: [{ type: 2, id: 7, tagName: 'input', attributes: { type: 'password', value: 'hunter2' }, childNodes: [] }] } } },
      { type: 3, timestamp: 2, data: { source: 5, id: 7, text: 'hunter2', isChecked: false } },
      { type: 3, timestamp: 3, data: { source: 5, id: 8, text: 'hello', isChecked: false } },
    ];
    const read = readWithRewrites('rrweb', Buffer.from(JSON.stringify(events)), new TraceRedactor(rules()));
    expect(read.original).not.toContain('hunter2');
    expect(read.lines.map((line) => (JSON.parse(line) as { additional_info: { value: string } }).additional_info.value)).toEqual([
      MASKS.password,
      'hello',
    ]);
  });

  it('leaves a trace with nothing to mask untouched: no rewrite, lines byte for byte', () => {
    const bytes = Buffer.from('{"timestamp":"2026-12-01T21:22:56.000000+00:00","action":"click","additional_info":{"x":1764624174000}}\n');
    const read = readWithRewrites('recorder-jsonl', bytes, new TraceRedactor(rules({ emailAddresses: true })));
    expect(read.rewrites).toEqual([]);
    expect(`${read.lines.join('\n')}\n`).toBe(bytes.toString('utf8'));
  });
});
