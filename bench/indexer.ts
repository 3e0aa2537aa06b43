/**
 * `npm run bench -- indexer [--size-mb 1024] [--rounds 3]`: the session indexer against a plain read of the same
 * blob. Generates a JSONL trace of keyboard/mouse events (1 GiB by default) into an Azurite of its own (in memory),
 * then, each in a fresh child process so that timing and peak RSS belong to that run alone:
 * - baseline: downloads the blob with the SDK, splits it into lines and JSON.parses each, nothing else;
 * - indexer: `indexSessionBlob` (what the blob trigger calls) on a session row, with the database write.
 * Rounds alternate baseline and indexer; the target is on the median of the rounds' ratios (each round's two runs
 * are back to back), the best of each is printed too. Targets: indexer >= 0.8 x baseline, indexer peak RSS < 200 MB.
 * The database is DATABASE_URL if set, else an embedded PGlite in this parent process.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { sql } from 'kysely';
import { startAzurite } from '../dev/embedded/azurite.js';
import { startEmbeddedPostgres } from '../dev/embedded/postgres.js';
import { createDatabase } from '../shared/db/database.js';
import { migrateToLatest } from '../shared/db/migrator.js';
import { indexSessionBlob } from '../shared/sessions/indexSessionBlob.js';
import { sessionBlobName, sessionStoragePath } from '../shared/sessions/sessionBlob.js';
import { SESSIONS_CONTAINER } from '../shared/storage/layout.js';
import { argValue, measureRun, median, round1, runChildProcess, type RunCost } from './benchSupport.js';

const thisFile = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;

/**
 * A phase's figures. The peak RSS is the child's VmHWM, not getrusage's maxrss: on Linux that starts from the
 * parent's RSS at fork, and the parent holds the embedded PGlite.
 */
interface PhaseFigures extends RunCost {
  phase: 'baseline' | 'indexer';
  bytes: number;
  lines: number;
  mb_per_s: number;
  outcome?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// The trace

const KEYS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const TARGETS = ['div#inbox > table > tr:nth-child(3)', 'input#search', 'button[aria-label="Archive"]', 'div.compose'];

/** Realistic input events, about 110 bytes a line, in chunks of ~1 MiB, up to `totalBytes` (whole lines). */
function* traceChunks(totalBytes: number, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  let written = 0;
  let ts = 1_700_000_000_000_000;
  let i = 0;
  while (written < totalBytes) {
    const lines: string[] = [];
    let chunkBytes = 0;
    while (chunkBytes < MB && written + chunkBytes < totalBytes) {
      ts += 1000 + (i % 7) * 250;
      const kind = i % 10;
      let event: Record<string, unknown>;
      if (kind < 6) {
        event = { ts, type: 'mousemove', x: (i * 37) % 1920, y: (i * 17) % 1080, buttons: 0, target: TARGETS[i % TARGETS.length] };
      } else if (kind < 8) {
        const key = KEYS[i % KEYS.length];
        event = { ts, type: kind === 6 ? 'keydown' : 'keyup', key, code: `Key${key?.toUpperCase()}`, repeat: false, modifiers: [] };
      } else if (kind === 8) {
        event = { ts, type: 'click', x: (i * 13) % 1920, y: (i * 7) % 1080, button: 0, target: TARGETS[i % TARGETS.length] };
      } else {
        event = { ts, name: 'wheel', deltaX: 0, deltaY: ((i % 5) - 2) * 40, target: TARGETS[0] };
      }
      const line = JSON.stringify(event) + '\n';
      lines.push(line);
      chunkBytes += line.length; // ASCII
      i++;
    }
    const chunk = Buffer.from(lines.join(''), 'utf8');
    hash.update(chunk);
    written += chunk.length;
    yield chunk;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one measured phase

async function baselinePhase(service: BlobServiceClient, blobName: string): Promise<{ bytes: number; lines: number }> {
  const download = await service.getContainerClient(SESSIONS_CONTAINER).getBlobClient(blobName).download();
  let bytes = 0;
  let lines = 0;
  let pending: Buffer | null = null;
  for await (const piece of download.readableStreamBody as AsyncIterable<Buffer>) {
    bytes += piece.length;
    const chunk: Buffer = pending ? Buffer.concat([pending, piece]) : piece;
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      if (newline > start) {
        JSON.parse(chunk.toString('utf8', start, newline));
        lines++;
      }
      start = newline + 1;
    }
    pending = start < chunk.length ? chunk.subarray(start) : null;
  }
  if (pending) {
    JSON.parse(pending.toString('utf8'));
    lines++;
  }
  return { bytes, lines };
}

async function runChild(phase: 'baseline' | 'indexer', sessionId: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(process.env.BENCH_STORAGE as string);
  const db = phase === 'indexer' ? createDatabase({ connectionString: process.env.BENCH_DATABASE_URL as string, poolMax: 1 }) : null;
  const { result, cost } = await measureRun(async () => {
    if (phase === 'baseline') return baselinePhase(service, sessionBlobName(sessionId));
    const indexed = await indexSessionBlob(
      {
        db: db!,
        container: service.getContainerClient(SESSIONS_CONTAINER),
        maxBytes: 5 * 1024 * MB,
        logger: { log: () => undefined, warn: console.warn },
      },
      sessionId,
    );
    if (indexed.outcome !== 'ready' && indexed.outcome !== 'invalid') throw new Error(`indexer: ${indexed.outcome}`);
    return { bytes: indexed.result.sizeBytes, lines: indexed.result.lineCount, outcome: indexed.outcome };
  });
  await db?.destroy();
  const figures: PhaseFigures = { phase, ...result, ...cost, mb_per_s: result.bytes / MB / cost.seconds };
  console.log(JSON.stringify(figures));
}

function runPhase(phase: 'baseline' | 'indexer', sessionId: string, env: Record<string, string>): Promise<PhaseFigures> {
  return runChildProcess<PhaseFigures>(thisFile, [phase, sessionId], env);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent

export async function runIndexerBenchmark(): Promise<Record<string, unknown>> {
  const sizeMb = argValue('--size-mb', 1024);
  const rounds = argValue('--rounds', 3);
  const scratch = mkdtempSync(join(tmpdir(), 'tracepipe-bench-indexer-'));
  // In memory up to 1.5 GiB (Azurite's extent memory is capped at 2 GiB); beyond, on disk in a temp folder.
  const azurite = await startAzurite(sizeMb <= 1536 ? {} : { location: join(scratch, 'azurite') });
  const postgres = process.env.DATABASE_URL ? null : await startEmbeddedPostgres(join(scratch, 'pglite'));
  const databaseUrl = process.env.DATABASE_URL ?? (postgres as { url: string }).url;
  const db = createDatabase({ connectionString: databaseUrl, poolMax: 1 });
  try {
    await migrateToLatest(db);
    const user = await db.insertInto('users').values({ display_name: 'bench' }).returning('id').executeTakeFirstOrThrow();
    const suite = await db
      .insertInto('suites')
      .values({ name: `bench-${randomUUID()}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    const sessionId = randomUUID();
    await db
      .insertInto('sessions')
      .values({ id: sessionId, user_id: user.id, suite_id: suite.id, storage_path: sessionStoragePath(sessionId) })
      .execute();

    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient(SESSIONS_CONTAINER);
    await container.createIfNotExists();
    const hash = createHash('sha256');
    console.log(`Generating a ${sizeMb} MB trace into Azurite...`);
    const generateStarted = performance.now();
    await container
      .getBlockBlobClient(sessionBlobName(sessionId))
      .uploadStream(Readable.from(traceChunks(sizeMb * MB, hash)), 8 * MB, 4);
    const expectedSha = hash.digest('hex');
    const size = (await container.getBlobClient(sessionBlobName(sessionId)).getProperties()).contentLength ?? 0;
    console.log(`  ${(size / MB).toFixed(0)} MB in ${((performance.now() - generateStarted) / 1000).toFixed(1)} s`);

    const env = { BENCH_STORAGE: azurite.connectionString, BENCH_DATABASE_URL: databaseUrl };
    const baselines: PhaseFigures[] = [];
    const indexers: PhaseFigures[] = [];
    for (let round = 1; round <= rounds; round++) {
      const baseline = await runPhase('baseline', sessionId, env);
      baselines.push(baseline);
      console.log(
        `round ${round} baseline: ${baseline.mb_per_s.toFixed(1)} MB/s, ${baseline.cpu_seconds.toFixed(1)} CPU s, ` +
          `peak RSS ${baseline.peak_rss_mb.toFixed(0)} MB`,
      );
      // Forget the previous round's result, so that the indexer does the whole work again.
      await sql`update sessions set indexed_etag = null, status = 'awaiting_upload' where id = ${sessionId}`.execute(db);
      const indexer = await runPhase('indexer', sessionId, env);
      indexers.push(indexer);
      console.log(
        `round ${round} indexer:  ${indexer.mb_per_s.toFixed(1)} MB/s, ${indexer.cpu_seconds.toFixed(1)} CPU s, ` +
          `peak RSS ${indexer.peak_rss_mb.toFixed(0)} MB ` +
          `(sampled ${indexer.sampled_peak_rss_mb.toFixed(0)} MB), ${indexer.outcome}`,
      );
    }

    const row = await db
      .selectFrom('sessions')
      .select(['status', 'size_bytes', 'sha256', 'event_count'])
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
    if (row.status !== 'ready' || row.sha256 !== expectedSha || row.size_bytes !== size) {
      throw new Error(`The indexer's result is wrong: ${JSON.stringify(row)} (expected sha256 ${expectedSha}, ${size} bytes)`);
    }
    const best = (figures: PhaseFigures[]) => figures.reduce((a, b) => (b.mb_per_s > a.mb_per_s ? b : a));
    const baseline = best(baselines);
    const indexer = best(indexers);
    const ratio = indexer.mb_per_s / baseline.mb_per_s;
    // Each round's two runs are back to back, so their ratio is the least disturbed by other load on the machine.
    const roundRatios = indexers.map((figures, i) => figures.mb_per_s / (baselines[i] as PhaseFigures).mb_per_s);
    const medianRoundRatio = median(roundRatios);
    // The same comparison in CPU time: what the indexer costs per byte relative to the bare read and parse.
    const cpuRatio =
      median(baselines.map((figures) => figures.cpu_seconds)) / median(indexers.map((figures) => figures.cpu_seconds));
    const peakRss = Math.max(...indexers.map((figures) => figures.peak_rss_mb));
    console.log(
      `best: baseline ${baseline.mb_per_s.toFixed(1)} MB/s, indexer ${indexer.mb_per_s.toFixed(1)} MB/s, ratio ` +
        `${ratio.toFixed(2)}; per round ${roundRatios.map((r) => r.toFixed(2)).join(', ')} (median ` +
        `${medianRoundRatio.toFixed(2)}; target >= 0.8); in CPU time ${cpuRatio.toFixed(2)}; indexer peak RSS ` +
        `${peakRss.toFixed(0)} MB (target < 200)`,
    );
    return {
      size_mb: Math.round(size / MB),
      events: row.event_count,
      rounds,
      baseline_mb_per_s: round1(baseline.mb_per_s),
      indexer_mb_per_s: round1(indexer.mb_per_s),
      ratio_best: Math.round(ratio * 100) / 100,
      ratio_per_round: roundRatios.map((r) => Math.round(r * 100) / 100),
      ratio_median_round: Math.round(medianRoundRatio * 100) / 100,
      cpu_ratio: Math.round(cpuRatio * 100) / 100,
      baseline_cpu_s_median: round1(median(baselines.map((figures) => figures.cpu_seconds))),
      indexer_cpu_s_median: round1(median(indexers.map((figures) => figures.cpu_seconds))),
      indexer_peak_rss_mb: Math.round(peakRss),
      indexer_sampled_peak_rss_mb: Math.round(Math.max(...indexers.map((f) => f.sampled_peak_rss_mb))),
      baseline_peak_rss_mb: Math.round(Math.max(...baselines.map((f) => f.peak_rss_mb))),
      meets_targets: medianRoundRatio >= 0.8 && peakRss < 200,
    };
  } finally {
    await db.destroy();
    await postgres?.stop();
    await azurite.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child' && resolve(process.argv[1] ?? '') === thisFile) {
  await runChild(process.argv[3] as 'baseline' | 'indexer', process.argv[4] as string);
}
