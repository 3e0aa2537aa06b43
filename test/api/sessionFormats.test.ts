import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import yauzl from 'yauzl';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import {
  postSessionMultipart,
  sessionBlobNames,
  uploadAndIndex,
  waitUntilIndexed,
  type SessionBody,
} from '../support/sessions.js';
import { createTestUser } from '../support/users.js';

/**
 * Every accepted format, as users make them (the recordings in test/fixtures/samples were made by driving
 * Chromium), uploaded through the API and indexed by the host's trigger: the session's figures, and the canonical
 * files in storage (the recorder's line shape, in time order; screenshots and their manifest; the original).
 */

const SAMPLES = join(PROJECT_ROOT, 'test/fixtures/samples');
const sample = (name: string) => readFileSync(join(SAMPLES, name));
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

let sessions: ContainerClient;

beforeAll(() => {
  sessions = BlobServiceClient.fromConnectionString(inject('storageConnectionString')).getContainerClient('sessions');
});

async function canonicalEvents(sessionId: string): Promise<Array<Record<string, unknown>>> {
  const text = (await sessions.getBlobClient(`${sessionId}/input_events.jsonl`).downloadToBuffer()).toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The canonical trace's promises: timestamp and action on every line, timestamps canonical and in order. */
function expectCanonical(events: Array<Record<string, unknown>>): void {
  let previous = '';
  for (const event of events) {
    expect(event.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    expect(typeof event.action).toBe('string');
    expect(event.timestamp as string >= previous).toBe(true);
    previous = event.timestamp as string;
  }
}

describe('recorder-jsonl', () => {
  it('is the canonical form: the upload is the trace (its password masked), with its 92 events and nothing else stored', async () => {
    const bytes = sample('recorder-session.jsonl');
    const session = await uploadAndIndex(bytes);
    expect(session).toMatchObject({ status: 'ready', format: 'recorder-jsonl', event_count: 92, sha256: sha256(bytes), redactions: 58, redaction_counts: { password: 58 } });
    // The masked upload is the canonical trace itself: no original is kept beside it (test/privacy*.test.ts).
    expect(await sessionBlobNames(sessions, session.id)).toEqual(['input_events.jsonl']);
    const events = await canonicalEvents(session.id);
    expectCanonical(events);
    expect(events[0]).toMatchObject({ suite: 'mailapp', tab: 1, action: 'mousemove', selector: { id: 'contacts-panel' } });
  });

  it('orders events written out of order, and writes their timestamps canonically, keeping the original', async () => {
    const lines = [
      { timestamp: '2026-12-01T21:22:58.1+00:00', action: 'click' },
      { timestamp: '2026-12-01T22:22:57+01:00', action: 'keydown' }, // 21:22:57 UTC
      { timestamp: '2026-12-01T21:22:57.5Z', action: 'keyup', url: 'https://x/' },
    ].map((event) => JSON.stringify(event));
    const bytes = Buffer.from(`${lines.join('\r\n')}\r\n`);
    const session = await uploadAndIndex(bytes, { file_name: 'shuffled.jsonl' });
    expect(session).toMatchObject({ status: 'ready', event_count: 3, first_event_at: '2026-12-01T21:22:57.000Z', duration_seconds: 1.1 });
    expect(session.files?.original).toBe(`sessions/${session.id}/original/shuffled.jsonl`);
    expect((await canonicalEvents(session.id)).map((event) => [event.timestamp, event.action])).toEqual([
      ['2026-12-01T21:22:57.000000+00:00', 'keydown'],
      ['2026-12-01T21:22:57.500000+00:00', 'keyup'],
      ['2026-12-01T21:22:58.100000+00:00', 'click'],
    ]);
    const original = await sessions.getBlobClient(`${session.id}/original/shuffled.jsonl`).downloadToBuffer();
    expect(original.equals(bytes)).toBe(true);
  });
});

describe('tracepipe-jsonl', () => {
  it('becomes recorder events: ts the timestamp, type the action, the rest in additional_info', async () => {
    const bytes = Buffer.from(
      [
        { type: 'keydown', ts: 1_764_624_174_000_000, key: 'a' },
        { name: 'click', ts: 1_764_624_175_500_000, x: 10, y: 20 },
      ]
        .map((event) => JSON.stringify(event))
        .join('\n'),
    );
    const session = await uploadAndIndex(bytes);
    expect(session).toMatchObject({ status: 'ready', format: 'tracepipe-jsonl', event_counts: { keydown: 1, click: 1 }, duration_seconds: 1.5 });
    expect(await canonicalEvents(session.id)).toEqual([
      { timestamp: '2025-12-01T21:22:54.000000+00:00', action: 'keydown', additional_info: { key: 'a' } },
      { timestamp: '2025-12-01T21:22:55.500000+00:00', action: 'click', additional_info: { x: 10, y: 20 } },
    ]);
  });
});

describe('chrome-trace', () => {
  it("keeps Chromium's input events, drops and counts the rest, and anchors its clock to the capture time", async () => {
    const bytes = sample('chrome-trace-small.json');
    const session = await uploadAndIndex(bytes, { file_name: 'chrome-trace-small.json' });
    const document = JSON.parse(bytes.toString('utf8')) as { traceEvents: unknown[] };
    expect(session).toMatchObject({
      status: 'ready',
      format: 'chrome-trace',
      clock: 'absolute',
      tab_count: 1,
      url_count: 0,
      size_bytes: bytes.length,
      sha256: sha256(bytes),
      files: { original: `sessions/${session.id}/original/chrome-trace-small.json` },
    });
    expect((session.event_count ?? 0) + (session.dropped_event_count ?? 0)).toBe(document.traceEvents.length);
    expect(session.event_counts).toMatchObject({ keydown: 17, keyup: 17, click: 4, input: 16, mousemove: 18, wheel: 2, submit: 1 });
    expect(session.first_event_at).toMatch(/^2026-12-01T21:22:5\d/);
    const events = await canonicalEvents(session.id);
    expectCanonical(events);
    expect(events).toHaveLength(session.event_count as number);
    expect(events.find((event) => event.action === 'submit')).toMatchObject({ tab: 1, additional_info: { pid: expect.any(Number) } });
  });

  it('says relative when the trace has no wall time, and is invalid without input events', async () => {
    const events = [
      { name: 'EventDispatch', ph: 'X', ts: 900_000, pid: 1, tid: 1, args: { data: { type: 'click' } } },
      { name: 'EventDispatch', ph: 'X', ts: 100_000, pid: 1, tid: 1, args: { data: { type: 'keydown' } } },
    ];
    const relative = await uploadAndIndex(Buffer.from(JSON.stringify(events)));
    expect(relative).toMatchObject({ status: 'ready', format: 'chrome-trace', clock: 'relative', first_event_at: null, duration_seconds: 0.8 });
    expect((await canonicalEvents(relative.id)).map((event) => event.timestamp)).toEqual([
      '1970-01-01T00:00:00.000000+00:00',
      '1970-01-01T00:00:00.800000+00:00',
    ]);
    const noInput = await uploadAndIndex(Buffer.from('{"traceEvents":[{"name":"Paint","ph":"X","ts":5,"pid":1,"tid":1}]}'));
    expect(noInput).toMatchObject({ status: 'invalid', validation_errors: [{ line: 0, message: expect.stringContaining('no input events') }] });
    expect(await sessionBlobNames(sessions, noInput.id)).toEqual([]);
  });
});

describe('rrweb', () => {
  it('becomes recorder events, with selectors from its DOM snapshot', async () => {
    const bytes = sample('rrweb-session.json');
    const session = await uploadAndIndex(bytes);
    expect(session).toMatchObject({ status: 'ready', format: 'rrweb', clock: 'absolute', url_count: 1, first_event_at: '2026-12-01T21:22:54.336Z' });
    expect(session.event_counts).toMatchObject({ click: 4, input: 16, scroll: 2 });
    const events = await canonicalEvents(session.id);
    expectCanonical(events);
    expect(events.filter((event) => event.action === 'click').every((event) => (event.selector as { tag?: string } | undefined)?.tag)).toBe(true);
  });
});

describe('recorder-bundle', () => {
  async function zipEntries(bytes: Buffer): Promise<Map<string, Buffer>> {
    const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true });
    const entries = new Map<string, Buffer>();
    for await (const entry of zip.eachEntry()) {
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      entries.set(entry.fileName, Buffer.concat(chunks));
    }
    return entries;
  }

  it('unpacks the recorder folder: events in time order, screenshots stored with their manifest, no zip with a password', async () => {
    const bytes = sample('recorder-bundle.zip');
    const user = await createTestUser();
    // Through the multipart form: the file field keeps its name whatever the format.
    const response = await postSessionMultipart(user, [
      { name: 'suite_id', value: GMAIL_SUITE_ID },
      { name: 'input_events', filename: 'recorder-bundle.zip', content: bytes },
    ]);
    expect(response.status, response.text).toBe(201);
    const session = await waitUntilIndexed(user, (response.json as SessionBody).id);
    expect(session).toMatchObject({
      status: 'ready',
      format: 'recorder-bundle',
      event_count: 92,
      screenshot_count: 3,
      sha256: sha256(bytes),
      files: {
        trace: `sessions/${session.id}/input_events.jsonl`,
        screenshots_manifest: `sessions/${session.id}/screenshots.jsonl`,
        // Its events had a password: the zip is not kept as uploaded (its content is in the files above).
        original: null,
      },
      redactions: 58,
    });
    // The same events as the recorder's own JSON Lines, in the same order, masked alike.
    const events = await canonicalEvents(session.id);
    expectCanonical(events);
    const recorder = await uploadAndIndex(sample('recorder-session.jsonl'));
    expect(events).toEqual(await canonicalEvents(recorder.id));

    const manifest = (await sessions.getBlobClient(`${session.id}/screenshots.jsonl`).downloadToBuffer()).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(manifest.map((shot) => shot.timestamp)).toEqual([
      '2026-12-01T21:22:55.041500+00:00',
      '2026-12-01T21:22:55.955100+00:00',
      '2026-12-01T21:22:56.998600+00:00',
    ]);
    const zipped = await zipEntries(bytes);
    for (const shot of manifest) {
      expect(shot).toMatchObject({ action: 'click', viewport: { width: 1280, height: 657 }, image_format: 'png', url: expect.any(String) });
      const image = await sessions.getBlobClient(`${session.id}/${shot.file as string}`).downloadToBuffer();
      const source = zipped.get(`screenshot/${shot.timestamp as string}/shot.png`) as Buffer;
      expect(shot).toMatchObject({ size: source.length, sha256: sha256(source) });
      expect(sha256(image)).toBe(sha256(source));
    }
    expect(await sessionBlobNames(sessions, session.id)).toEqual([
      'input_events.jsonl',
      ...manifest.map((shot) => shot.file as string).sort(),
      'screenshots.jsonl',
    ].sort());
  });
});

describe('declared and mixed formats', () => {
  it('is invalid when the declared format is not what was uploaded, saying what it is', async () => {
    const session = await uploadAndIndex(sample('rrweb-session.json'), { format: 'chrome-trace' });
    expect(session).toMatchObject({
      status: 'invalid',
      validation_errors: [{ line: 0, message: 'The upload was declared chrome-trace, but it is rrweb. Declare its format, or leave the format out.' }],
    });
  });

  it('names the lines of another format in a JSON Lines trace, or keeps the rest with skip_invalid_lines', async () => {
    const recorder = sample('recorder-session.jsonl').toString('utf8').trim().split('\n');
    const mixed = Buffer.from([recorder[0], '{"ts":1764624175000000,"type":"keydown"}', recorder[1], ''].join('\n'));
    const strict = await uploadAndIndex(mixed);
    expect(strict).toMatchObject({
      status: 'invalid',
      format: 'recorder-jsonl',
      validation_errors: [{ line: 2, message: expect.stringContaining('a tracepipe-jsonl event in a recorder-jsonl trace') }],
    });
    const lenient = await uploadAndIndex(mixed, { skip_invalid_lines: true });
    expect(lenient).toMatchObject({ status: 'ready', event_count: 2, skipped_event_count: 1, validation_errors: [{ line: 2 }] });
  });
});
