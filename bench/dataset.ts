/**
 * `npm run bench -- dataset [--examples 10000] [--rounds 3]`: builds one dataset of 10,000 completed examples
 * against concatenating the same example blobs with the SDK. Writes the examples (distinct Gmail conversations of
 * about 1.5 KB, with their digests, as COMPLETED leaves them) into a database of its own on the local PostgreSQL
 * (BENCH_DATABASE_URL's server) and an Azurite of its own, then, each in a fresh child process so that timing and
 * peak RSS belong to that run alone:
 * - concat: downloads every example's messages.jsonl with the SDK, in order, as many reads in flight as the
 *   builder, and appends the bytes to one blob (uploadStream) — reading and writing, nothing else;
 * - build: `buildDataset` (what the queue trigger calls) on a dataset of all of them, format openai with a 10%
 *   validation split: the work list in PostgreSQL, conversion, lint, two files written, the row updated.
 * Rounds alternate the two. Targets: build >= 0.5 x concat in examples per second (median of the rounds' ratios),
 * build peak RSS < 200 MB.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite } from '../dev/embedded/azurite.js';
import { generateApiKeySecret } from '../shared/auth/apiKeySecret.js';
import { buildDataset } from '../shared/datasets/datasetBuilder.js';
import { readAhead } from '../shared/datasets/readAhead.js';
import { createDatabase } from '../shared/db/database.js';
import { migrateToLatest } from '../shared/db/migrator.js';
import { checkTrainingMessages } from '../shared/examples/trainingMessages.js';
import { GMAIL_ACTION_TOOL_MAP_ID, GMAIL_SUITE_ID, SEED_MODEL_IDS } from '../shared/seed/catalog.js';
import { seedDatabase } from '../shared/seed/seed.js';
import { ensureStorageLayout, EXAMPLES_CONTAINER, DATASETS_CONTAINER } from '../shared/storage/layout.js';
import { StreamedBlobUpload } from '../shared/storage/streamedBlobUpload.js';
import { argValue, createBenchDatabase, measureRun, median, round1, runChildProcess, type RunCost } from './benchSupport.js';

const thisFile = fileURLToPath(import.meta.url);
/** The builder's read-ahead, for a like-for-like baseline. */
const READS_IN_FLIGHT = 8;

interface PhaseFigures extends RunCost {
  phase: 'concat' | 'build';
  examples: number;
  bytes: number;
  examples_per_s: number;
}

/** A distinct Gmail conversation: a request, a search, its result, an archive and a label call, an answer. */
function conversation(n: number): string {
  const messages = [
    { role: 'system', content: 'You operate Gmail through its tools. Act only on what the user asks for, and say what you did.' },
    { role: 'user', content: `Find the latest email from customer ${n} about their invoice, archive it and label it Billing-${n % 50}.` },
    { role: 'assistant', content: null, tool_calls: [{ name: 'search_emails', arguments: { query: `from:customer${n}@example.com invoice`, max_results: 1 } }] },
    { role: 'tool', tool_call_id: 'call_1', content: JSON.stringify({ messages: [{ id: `m${n}`, subject: `Invoice ${n}`, snippet: 'Please find attached the invoice for this month.' }] }) },
    {
      role: 'assistant',
      content: `Found message m${n}; archiving and labelling it.`,
      tool_calls: [
        { name: 'archive_email', arguments: { message_id: `m${n}` } },
        { name: 'add_label', arguments: { message_id: `m${n}`, label_name: `Billing-${n % 50}` } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_2', content: 'archived' },
    { role: 'tool', tool_call_id: 'call_3', content: 'labelled' },
    { role: 'assistant', content: `Done: the invoice email from customer ${n} is archived and labelled Billing-${n % 50}.` },
  ];
  return messages.map((message) => JSON.stringify(message)).join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one measured phase

async function concatPhase(blobs: BlobServiceClient, exampleIds: string[]): Promise<{ examples: number; bytes: number }> {
  const target = new StreamedBlobUpload(blobs.getContainerClient(DATASETS_CONTAINER).getBlockBlobClient(`bench-${randomUUID()}/all.jsonl`));
  const examples = blobs.getContainerClient(EXAMPLES_CONTAINER);
  let count = 0;
  // One request a blob, as the builder reads them (downloadToBuffer would ask for the size first).
  const read = async (id: string) => {
    const chunks: Buffer[] = [];
    for await (const chunk of (await examples.getBlobClient(`${id}/messages.jsonl`).download()).readableStreamBody as AsyncIterable<Buffer>) {
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  };
  for await (const [, text] of readAhead(exampleIds, READS_IN_FLIGHT, read)) {
    await target.write(text);
    count++;
  }
  const written = await target.finish();
  return { examples: count, bytes: written.bytes };
}

async function runChild(phase: 'concat' | 'build', argument: string): Promise<void> {
  const blobs = BlobServiceClient.fromConnectionString(process.env.BENCH_STORAGE as string);
  const db = phase === 'build' ? createDatabase({ connectionString: process.env.BENCH_DATABASE_URL as string, poolMax: 2 }) : null;
  const { result, cost } = await measureRun(async () => {
    if (phase === 'concat') return concatPhase(blobs, JSON.parse(readFileSync(argument, 'utf8')) as string[]);
    const outcome = await buildDataset({ db: db!, blobs, log: () => undefined }, argument);
    if (outcome !== 'ready') throw new Error(`build: ${outcome}`);
    const row = await db!
      .selectFrom('datasets')
      .select(['train_count', 'validation_count', 'train_bytes', 'validation_bytes'])
      .where('id', '=', argument)
      .executeTakeFirstOrThrow();
    return {
      examples: (row.train_count ?? 0) + (row.validation_count ?? 0),
      bytes: (row.train_bytes ?? 0) + (row.validation_bytes ?? 0),
    };
  });
  await db?.destroy();
  const figures: PhaseFigures = { phase, ...result, ...cost, examples_per_s: result.examples / cost.seconds };
  console.log(JSON.stringify(figures));
}

function runPhase(phase: 'concat' | 'build', argument: string, env: Record<string, string>): Promise<PhaseFigures> {
  return runChildProcess<PhaseFigures>(thisFile, [phase, argument], env);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent

export async function runDatasetBenchmark(): Promise<Record<string, unknown>> {
  const count = argValue('--examples', 10_000);
  const rounds = argValue('--rounds', 3);
  const scratch = mkdtempSync(join(tmpdir(), 'tracepipe-bench-dataset-'));
  const azurite = await startAzurite({ location: join(scratch, 'azurite') });
  const database = await createBenchDatabase();
  const db = createDatabase({ connectionString: database.url, poolMax: 4 });
  try {
    await migrateToLatest(db);
    await seedDatabase(db, { localApiKey: generateApiKeySecret(), apiKeyHmacSecret: randomBytes(32).toString('base64url') });
    const user = await db.insertInto('users').values({ display_name: 'bench' }).returning('id').executeTakeFirstOrThrow();
    const session = await db
      .insertInto('sessions')
      .values({ user_id: user.id, suite_id: GMAIL_SUITE_ID, storage_path: 'sessions/bench/', status: 'ready', size_bytes: 1, event_count: 1, sha256: '0'.repeat(64) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await ensureStorageLayout(blobs, QueueServiceClient.fromConnectionString(azurite.connectionString));

    console.log(`Writing ${count} completed examples...`);
    const setupStarted = performance.now();
    const toolNames = new Set(['search_emails', 'archive_email', 'add_label']);
    const ids: string[] = [];
    const examples = blobs.getContainerClient(EXAMPLES_CONTAINER);
    for (let from = 0; from < count; from += 500) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(500, count - from) }, async (_, i) => {
          const id = randomUUID();
          let canonical = '';
          const check = await checkTrainingMessages([conversation(from + i)], { toolNames, onCanonicalLine: (line) => (canonical += line) });
          if (!check.valid) throw new Error(JSON.stringify(check.errors));
          await examples.getBlockBlobClient(`${id}/messages.jsonl`).upload(canonical, Buffer.byteLength(canonical));
          return { id, sha: check.conversationSha256 };
        }),
      );
      await db
        .insertInto('examples')
        .values(
          batch.map(({ id, sha }) => ({
            id,
            user_id: user.id,
            session_id: session.id,
            suite_id: GMAIL_SUITE_ID,
            model_id: SEED_MODEL_IDS['openai/gpt-4o'] as string,
            action_tool_map_id: GMAIL_ACTION_TOOL_MAP_ID,
            storage_path: `examples/${id}/`,
            status: 'COMPLETED' as const,
            input_tokens: 1,
            output_tokens: 1,
            completed_at: new Date(),
            conversation_sha256: sha,
          })),
        )
        .execute();
      ids.push(...batch.map((entry) => entry.id));
    }
    console.log(`  in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`);
    const idsFile = join(scratch, 'ids.json');
    writeFileSync(idsFile, JSON.stringify(ids));

    const env = { BENCH_STORAGE: azurite.connectionString, BENCH_DATABASE_URL: database.url };
    const concats: PhaseFigures[] = [];
    const builds: PhaseFigures[] = [];
    for (let round = 1; round <= rounds; round++) {
      const concat = await runPhase('concat', idsFile, env);
      concats.push(concat);
      console.log(`round ${round} concat: ${concat.examples_per_s.toFixed(0)} examples/s, peak RSS ${concat.peak_rss_mb.toFixed(0)} MB`);
      const dataset = await db
        .insertInto('datasets')
        .values({ user_id: user.id, name: `bench ${round}`, format: 'openai', seed: round, validation_split: 0.1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      const build = await runPhase('build', dataset.id, env);
      if (build.examples !== count) throw new Error(`the build wrote ${build.examples} examples of ${count}`);
      builds.push(build);
      console.log(
        `round ${round} build:  ${build.examples_per_s.toFixed(0)} examples/s, ${build.cpu_seconds.toFixed(1)} CPU s, ` +
          `peak RSS ${build.peak_rss_mb.toFixed(0)} MB (sampled ${build.sampled_peak_rss_mb.toFixed(0)} MB)`,
      );
    }
    const ratios = builds.map((build, i) => build.examples_per_s / (concats[i] as PhaseFigures).examples_per_s);
    const medianRatio = median(ratios);
    const peakRss = Math.max(...builds.map((figures) => figures.peak_rss_mb));
    console.log(
      `per round build/concat ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${medianRatio.toFixed(2)}; target >= 0.5); ` +
        `build peak RSS ${peakRss.toFixed(0)} MB (target < 200)`,
    );
    return {
      examples: count,
      rounds,
      concat_examples_per_s: Math.round(median(concats.map((f) => f.examples_per_s))),
      build_examples_per_s: Math.round(median(builds.map((f) => f.examples_per_s))),
      build_seconds_median: round1(median(builds.map((f) => f.seconds))),
      ratio_per_round: ratios.map((r) => Math.round(r * 100) / 100),
      ratio_median_round: Math.round(medianRatio * 100) / 100,
      build_cpu_s_median: round1(median(builds.map((f) => f.cpu_seconds))),
      concat_cpu_s_median: round1(median(concats.map((f) => f.cpu_seconds))),
      build_peak_rss_mb: Math.round(peakRss),
      concat_peak_rss_mb: Math.round(Math.max(...concats.map((f) => f.peak_rss_mb))),
      dataset_bytes: builds[0]?.bytes,
      meets_targets: medianRatio >= 0.5 && peakRss < 200,
    };
  } finally {
    await db.destroy();
    await azurite.stop();
    await database.drop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child' && resolve(process.argv[1] ?? '') === thisFile) {
  await runChild(process.argv[3] as 'concat' | 'build', process.argv[4] as string);
}
