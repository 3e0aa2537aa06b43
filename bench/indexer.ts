/**
 * `npm run bench -- indexer [--size-mb 1024] [--small-mb 128] [--rounds 2] [--formats a,b]`: the session indexer
 * against a bare read-and-parse of the same bytes, per format. Generates each fixture into an Azurite of its own
 * (in memory), then, each in a fresh child process so that timing and peak RSS belong to that run alone:
 * - baseline: downloads the upload with the SDK and parses it, nothing else: JSON Lines split into lines and
 *   JSON.parsed; JSON documents (Chrome, rrweb) cut into events by the JsonDocumentScanner (the fastest streaming
 *   parse here: @streamparser/json managed 26 MB/s on a Chrome trace) and each event JSON.parsed; a bundle read
 *   entry by entry with yauzl and its events JSON.parsed;
 * - indexer: `indexSessionUpload` (what the trigger calls) on a session row: detection, conversion, ordering, the
 *   canonical trace and the original written back to storage, the database result.
 * recorder-jsonl and chrome-trace are `--size-mb` (1 GiB) each, the other formats `--small-mb`. Rounds alternate
 * baseline and indexer; the target is on the median of the rounds' ratios: indexer >= 0.8 x baseline for the two
 * 1 GiB formats, and peak RSS < 200 MB for every format, each child's heap limited to HEAP_MB. The database is
 * DATABASE_URL if set, else an embedded PGlite in this parent process.
 * `--password-every N` makes every Nth recorder event (JSON Lines and bundle) a keystroke in a password field, so
 * that redaction masks it and the original is written rewritten (0, the default: none, and the original is a copy).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { sql } from 'kysely';
import yauzl from 'yauzl';
import { startAzurite } from '../dev/embedded/azurite.js';
import { startEmbeddedPostgres } from '../dev/embedded/postgres.js';
import { buildZip, type ZipEntrySpec } from '../dev/fixtures/zipFiles.js';
import { createDatabase } from '../shared/db/database.js';
import { migrateToLatest } from '../shared/db/migrator.js';
import { BlobRangeReader } from '../shared/sessions/blobRangeReader.js';
import { indexSessionUpload } from '../shared/sessions/indexSessionUpload.js';
import { sessionStoragePath, stagingBlobName } from '../shared/sessions/sessionBlob.js';
import { JsonDocumentScanner } from '../shared/traces/jsonDocumentScanner.js';
import type { TraceFormat } from '../shared/traces/traceFormats.js';
import { SESSIONS_CONTAINER, UPLOADS_CONTAINER } from '../shared/storage/layout.js';
import { argValue, measureRun, median, projectRoot, round1, runChildProcess, type RunCost } from './benchSupport.js';

const thisFile = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;
const FIXTURES_CONTAINER = 'bench-fixtures';
const ALL_FORMATS: TraceFormat[] = ['recorder-jsonl', 'chrome-trace', 'tracepipe-jsonl', 'rrweb', 'recorder-bundle'];
const LARGE_FORMATS = new Set<TraceFormat>(['recorder-jsonl', 'chrome-trace']);
/**
 * Both children run with this old-space limit. Left alone, V8 grows its heap lazily towards its default limit
 * (about a quarter of the machine's memory) whatever the live set, so RSS would measure V8's patience rather than
 * what the indexer holds; a run that needed more than this would fail here with an out-of-memory error. (A heap
 * snapshot mid-run of a bundle of 128 MiB shows under 40 MB live.)
 */
const HEAP_MB = 128;

interface PhaseFigures extends RunCost {
  phase: 'baseline' | 'indexer';
  bytes: number;
  events: number;
  mb_per_s: number;
  outcome?: string;
  /** The indexer's own account of its time: reading and converting, writing the trace, keeping the original. */
  timings?: { convert_ms: number; write_ms: number; original_ms: number };
}


function formatsArg(): TraceFormat[] {
  const index = process.argv.indexOf('--formats');
  if (index < 0) return ALL_FORMATS;
  const asked = (process.argv[index + 1] ?? '').split(',') as TraceFormat[];
  for (const format of asked) if (!ALL_FORMATS.includes(format)) throw new Error(`--formats: unknown ${format}`);
  return asked;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: realistic events, generated in ~1 MiB chunks up to a size

const SAMPLES = join(projectRoot, 'test/fixtures/samples');
const KEYS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const START_MICROS = Date.UTC(2026, 11, 1, 9, 0, 0) * 1000;

function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros % 1000).padStart(3, '0')}+00:00`;
}

/** Lines from `next(i)` until `totalBytes`, in ~1 MiB chunks, with `open` and `close` around them. */
function* chunked(totalBytes: number, next: (i: number) => string, separator: string, open = '', close = ''): Generator<Buffer> {
  let written = 0;
  let i = 0;
  let first = true;
  if (open) {
    yield Buffer.from(open);
    written += open.length;
  }
  while (written < totalBytes) {
    let chunk = '';
    while (chunk.length < MB && written + chunk.length < totalBytes) {
      chunk += (first ? '' : separator) + next(i++);
      first = false;
    }
    written += chunk.length;
    yield Buffer.from(chunk, 'utf8');
  }
  if (close) yield Buffer.from(close);
}

/** Every Nth recorder event is typed into a password field (0: none); see --password-every. */
const PASSWORD_EVERY = process.argv.includes('--password-every') ? argValue('--password-every', 1) : 0;

function recorderEvent(i: number): Record<string, unknown> {
  if (PASSWORD_EVERY > 0 && i % PASSWORD_EVERY === 0) {
    return {
      suite: 'mailapp',
      tab: 1,
      url: 'https://mail.example.com/login',
      timestamp: isoMicros(START_MICROS + i * 3_700),
      action: 'keydown',
      selector: { tag: 'input', id: 'password', class: 'field' },
      additional_info: { key: KEYS[i % KEYS.length], code: 'KeyX', input_type: 'password', trusted: true },
    };
  }
  const kind = i % 10;
  const action = kind < 5 ? 'mousemove' : kind < 7 ? 'keydown' : kind < 9 ? 'keyup' : 'click';
  const info =
    kind < 5 || kind === 9
      ? { x: (i * 37) % 1920, y: (i * 17) % 1080, page_x: (i * 37) % 1920, page_y: (i * 17) % 1080, button: 0, buttons: 0, trusted: true }
      : { key: KEYS[i % KEYS.length], code: `Key${KEYS[i % KEYS.length]?.toUpperCase()}`, repeat: false, ctrl: false, trusted: true };
  return {
    suite: 'mailapp',
    tab: 1,
    url: 'https://mail.example.com/compose',
    timestamp: isoMicros(START_MICROS + i * 3_700),
    action,
    selector: { tag: kind < 5 ? 'div' : 'input', id: `field-${i % 7}`, class: 'field' },
    additional_info: info,
  };
}

function fixtureChunks(format: TraceFormat, totalBytes: number): Iterable<Buffer> {
  switch (format) {
    case 'recorder-jsonl':
      return chunked(totalBytes, (i) => JSON.stringify(recorderEvent(i)), '\n', '', '\n');
    case 'tracepipe-jsonl':
      return chunked(totalBytes, (i) => JSON.stringify({ ts: START_MICROS + i * 3_700, type: i % 3 ? 'mousemove' : 'keydown', x: i % 1920, y: i % 1080 }), '\n', '', '\n');
    case 'chrome-trace': {
      // The sample's own events, over and over, each copy 4 s later: about one in eleven is an input event.
      const sample = JSON.parse(readFileSync(join(SAMPLES, 'chrome-trace-small.json'), 'utf8')) as { traceEvents: Array<Record<string, unknown>>; metadata: unknown };
      const events = sample.traceEvents.filter((event) => event.ph !== 'M');
      return chunked(
        totalBytes,
        (i) => {
          const event = events[i % events.length] as Record<string, unknown>;
          const shift = Math.floor(i / events.length) * 4_000_000;
          return JSON.stringify(typeof event.ts === 'number' ? { ...event, ts: event.ts + shift } : event);
        },
        ',\n',
        '{"traceEvents":[\n',
        `],\n"metadata":${JSON.stringify(sample.metadata)}}\n`,
      );
    }
    case 'rrweb': {
      const sample = JSON.parse(readFileSync(join(SAMPLES, 'rrweb-session.json'), 'utf8')) as Array<{ type: number; timestamp: number }>;
      const incremental = sample.filter((event) => event.type === 3);
      const snapshot = sample.filter((event) => event.type !== 3);
      return chunked(
        totalBytes,
        (i) => {
          const event = incremental[i % incremental.length] as { timestamp: number };
          return JSON.stringify({ ...event, timestamp: event.timestamp + Math.floor(i / incremental.length) * 3_000 });
        },
        ',',
        `[${snapshot.map((event) => JSON.stringify(event)).join(',')},`,
        ']',
      );
    }
    case 'recorder-bundle': {
      // The recorder's folder: an event per file, and a screenshot every 20 events (images are most of a bundle's
      // bytes; the writer here makes no ZIP64, so a bundle stays under 65,535 entries).
      const image = pngOf(60_000);
      const entries: ZipEntrySpec[] = [];
      let size = 0;
      for (let i = 0; size < totalBytes; i++) {
        const event = recorderEvent(i);
        const content = JSON.stringify(event, null, 2);
        entries.push({ name: `input/${i + 1}.json`, content, deflate: true });
        size += content.length;
        if (i % 20 === 0) {
          const folder = `screenshot/${event.timestamp as string}`;
          entries.push({ name: `${folder}/meta.json`, content: JSON.stringify({ timestamp: event.timestamp, action: event.action, image_format: 'png', viewport: { width: 1280, height: 720 }, filename: 'shot.png' }) });
          entries.push({ name: `${folder}/shot.png`, content: image });
          size += image.length;
        }
      }
      return [buildZip(entries)];
    }
  }
}

/** A PNG signature and padding: what the indexer checks of an image is its first bytes and its size. */
function pngOf(bytes: number): Buffer {
  const image = Buffer.alloc(bytes, 0x20);
  Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').copy(image);
  return image;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one measured phase


async function baselinePhase(fixtures: ContainerClient, name: string, format: TraceFormat): Promise<{ bytes: number; events: number }> {
  const blob = fixtures.getBlockBlobClient(name);
  if (format === 'recorder-bundle') {
    const properties = await blob.getProperties();
    const zip = await yauzl.fromRandomAccessReaderPromise(new BlobRangeReader(blob, properties.etag as string), properties.contentLength ?? 0, { lazyEntries: true, autoClose: false });
    let events = 0;
    for await (const entry of zip.eachEntry()) {
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      if (entry.fileName.endsWith('.json')) {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        events++;
      }
    }
    zip.close();
    return { bytes: properties.contentLength ?? 0, events };
  }
  const download = await blob.download();
  let bytes = 0;
  let events = 0;
  if (format === 'chrome-trace' || format === 'rrweb') {
    const scanner = new JsonDocumentScanner(
      { element: (_key, _index, text) => (JSON.parse(text), events++), unreadableElement: () => undefined, member: () => undefined },
      { streamedKeys: new Set(['traceEvents']), maxElementBytes: 16 * MB, maxMemberBytes: 16 * MB },
    );
    for await (const chunk of download.readableStreamBody as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      scanner.push(chunk);
    }
    scanner.finish();
    return { bytes, events };
  }
  let pending: Buffer | null = null;
  for await (const piece of download.readableStreamBody as AsyncIterable<Buffer>) {
    bytes += piece.length;
    const chunk: Buffer = pending ? Buffer.concat([pending, piece]) : piece;
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      if (newline > start) {
        JSON.parse(chunk.toString('utf8', start, newline));
        events++;
      }
      start = newline + 1;
    }
    pending = start < chunk.length ? chunk.subarray(start) : null;
  }
  return { bytes, events };
}

async function runChild(phase: 'baseline' | 'indexer', format: TraceFormat, sessionId: string, fixtureName: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(process.env.BENCH_STORAGE as string);
  const db = phase === 'indexer' ? createDatabase({ connectionString: process.env.BENCH_DATABASE_URL as string, poolMax: 2 }) : null;
  const { result, cost } = await measureRun(async () => {
    if (phase === 'baseline') return baselinePhase(service.getContainerClient(FIXTURES_CONTAINER), fixtureName, format);
    const indexed = await indexSessionUpload(
      {
        db: db!,
        uploads: service.getContainerClient(UPLOADS_CONTAINER),
        sessions: service.getContainerClient(SESSIONS_CONTAINER),
        maxBytes: { url: 5 * 1024 * MB, multipart: 5 * 1024 * MB, inline: 5 * 1024 * MB },
        logger: { log: () => undefined, warn: console.warn },
      },
      stagingBlobName(sessionId, 1, fixtureName),
    );
    if (indexed.outcome !== 'ready') throw new Error(`indexer: ${JSON.stringify(indexed)}`);
    const row = await db!.selectFrom('sessions').select(['size_bytes', 'event_count']).where('id', '=', sessionId).executeTakeFirstOrThrow();
    return { bytes: row.size_bytes ?? 0, events: row.event_count ?? 0, outcome: indexed.outcome, timings: indexed.timings };
  });
  await db?.destroy();
  const figures: PhaseFigures = { phase, ...result, ...cost, mb_per_s: result.bytes / MB / cost.seconds };
  console.log(JSON.stringify(figures));
}

function runPhase(phase: 'baseline' | 'indexer', args: string[], env: Record<string, string>): Promise<PhaseFigures> {
  // BENCH_CPU_PROF=<folder>: a V8 CPU profile of each indexer run, to see where its time goes.
  const profile = process.env.BENCH_CPU_PROF && phase === 'indexer' ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  return runChildProcess<PhaseFigures>(thisFile, [phase, ...args], env, [...profile, `--max-old-space-size=${HEAP_MB}`]);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent

export async function runIndexerBenchmark(): Promise<Record<string, unknown>> {
  const sizeMb = argValue('--size-mb', 1024);
  const smallMb = argValue('--small-mb', 128);
  const rounds = argValue('--rounds', 2);
  const formats = formatsArg();
  const scratch = mkdtempSync(join(tmpdir(), 'tracepipe-bench-indexer-'));
  // A fixture, its staging copy, the canonical trace and the original are in Azurite's memory at once.
  const azurite = await startAzurite({ extentMemoryLimitMb: Math.max(2048, sizeMb * 5) });
  const postgres = process.env.DATABASE_URL ? null : await startEmbeddedPostgres(join(scratch, 'pglite'));
  const databaseUrl = process.env.DATABASE_URL ?? (postgres as { url: string }).url;
  const db = createDatabase({ connectionString: databaseUrl, poolMax: 2 });
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const fixtures = service.getContainerClient(FIXTURES_CONTAINER);
  const uploads = service.getContainerClient(UPLOADS_CONTAINER);
  const sessions = service.getContainerClient(SESSIONS_CONTAINER);
  const results: Record<string, unknown> = {};
  let meetsTargets = true;
  try {
    await migrateToLatest(db);
    await Promise.all([fixtures.createIfNotExists(), uploads.createIfNotExists(), sessions.createIfNotExists()]);
    const user = await db.insertInto('users').values({ display_name: 'bench' }).returning('id').executeTakeFirstOrThrow();
    const suite = await db.insertInto('suites').values({ name: `bench-${randomUUID()}` }).returning('id').executeTakeFirstOrThrow();
    const env = { BENCH_STORAGE: azurite.connectionString, BENCH_DATABASE_URL: databaseUrl };

    for (const format of formats) {
      const size = (LARGE_FORMATS.has(format) ? sizeMb : smallMb) * MB;
      const fixtureName = { 'recorder-jsonl': 'recording.jsonl', 'tracepipe-jsonl': 'events.jsonl', 'chrome-trace': 'trace.json', rrweb: 'rrweb.json', 'recorder-bundle': 'recording.zip' }[format];
      console.log(`${format}: generating ${size / MB} MB into Azurite...`);
      const fixture = fixtures.getBlockBlobClient(fixtureName);
      await fixture.uploadStream(Readable.from(fixtureChunks(format, size)), 8 * MB, 4);
      const fixtureSize = (await fixture.getProperties()).contentLength ?? 0;

      const sessionId = randomUUID();
      await db
        .insertInto('sessions')
        .values({ id: sessionId, user_id: user.id, suite_id: suite.id, storage_path: sessionStoragePath(sessionId), upload_file_name: fixtureName })
        .execute();
      const baselines: PhaseFigures[] = [];
      const indexers: PhaseFigures[] = [];
      for (let round = 1; round <= rounds; round++) {
        baselines.push(await runPhase('baseline', [format, sessionId, fixtureName], env));
        // A fresh upload (a copy inside Azurite) and a session that has not been indexed, for the whole work again.
        await sql`update sessions set indexed_etag = null, status = 'awaiting_upload' where id = ${sessionId}`.execute(db);
        for await (const blob of sessions.listBlobsFlat({ prefix: `${sessionId}/` })) await sessions.deleteBlob(blob.name);
        const staging = uploads.getBlockBlobClient(stagingBlobName(sessionId, 1, fixtureName));
        await (await staging.beginCopyFromURL(fixture.url)).pollUntilDone();
        indexers.push(await runPhase('indexer', [format, sessionId, fixtureName], env));
        const [b, i] = [baselines.at(-1) as PhaseFigures, indexers.at(-1) as PhaseFigures];
        console.log(
          `  round ${round}: baseline ${b.mb_per_s.toFixed(1)} MB/s (RSS ${b.peak_rss_mb.toFixed(0)} MB), ` +
            `indexer ${i.mb_per_s.toFixed(1)} MB/s (RSS ${i.peak_rss_mb.toFixed(0)} MB, ${i.events} events; ` +
            `${JSON.stringify(i.timings)})`,
        );
      }
      const ratios = indexers.map((figures, i) => figures.mb_per_s / (baselines[i] as PhaseFigures).mb_per_s);
      const ratio = median(ratios);
      const peakRss = Math.max(...indexers.map((figures) => figures.peak_rss_mb));
      const ok = peakRss < 200 && (!LARGE_FORMATS.has(format) || ratio >= 0.8);
      meetsTargets &&= ok;
      results[format] = {
        size_mb: round1(fixtureSize / MB),
        events: indexers.at(-1)?.events,
        baseline_mb_per_s: round1(median(baselines.map((f) => f.mb_per_s))),
        indexer_mb_per_s: round1(median(indexers.map((f) => f.mb_per_s))),
        ratio_median_round: Math.round(ratio * 100) / 100,
        ratio_per_round: ratios.map((r) => Math.round(r * 100) / 100),
        cpu_ratio: Math.round((median(baselines.map((f) => f.cpu_seconds)) / median(indexers.map((f) => f.cpu_seconds))) * 100) / 100,
        indexer_peak_rss_mb: Math.round(peakRss),
        // The copy of the original runs in the storage service in Azure; here it is Azurite's work, timed apart.
        indexer_timings_ms_median: {
          convert: median(indexers.map((f) => f.timings?.convert_ms ?? 0)),
          write: median(indexers.map((f) => f.timings?.write_ms ?? 0)),
          original: median(indexers.map((f) => f.timings?.original_ms ?? 0)),
        },
        baseline_peak_rss_mb: Math.round(Math.max(...baselines.map((f) => f.peak_rss_mb))),
        meets_targets: ok,
      };
      console.log(`  ${format}: ratio ${ratio.toFixed(2)}${LARGE_FORMATS.has(format) ? ' (target >= 0.8)' : ''}, peak RSS ${peakRss.toFixed(0)} MB (target < 200)`);
      await fixture.delete();
      for await (const blob of sessions.listBlobsFlat({ prefix: `${sessionId}/` })) await sessions.deleteBlob(blob.name);
    }
    return { rounds, ...results, meets_targets: meetsTargets };
  } finally {
    await db.destroy();
    await postgres?.stop();
    await azurite.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}



if (process.argv[2] === '--child' && resolve(process.argv[1] ?? '') === thisFile) {
  await runChild(process.argv[3] as 'baseline' | 'indexer', process.argv[4] as TraceFormat, process.argv[5] as string, process.argv[6] as string);
}
