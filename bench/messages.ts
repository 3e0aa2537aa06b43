import { randomBytes } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../shared/auth/apiKeySecret.js';
import { createDatabase } from '../shared/db/database.js';
import { migrateToLatest } from '../shared/db/migrator.js';
import { seedDatabase } from '../shared/seed/seed.js';
import { GMAIL_ACTION_TOOL_MAP_ID, GMAIL_SUITE_ID, SEED_MODEL_IDS } from '../shared/seed/catalog.js';
import { startAzurite } from '../dev/embedded/azurite.js';
import { createBenchDatabase, median, projectRoot, spawnBenchHost, startCpuMeter } from './benchSupport.js';

/** One realistic training message line, repeated until the file has the size asked for. */
function messageLine(i: number): string {
  return (
    JSON.stringify({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: `call_${i}`,
          type: 'function',
          function: { name: 'compose_email', arguments: JSON.stringify({ to: 'a@example.com', subject: `s${i}`, body: 'x'.repeat(200) }) },
        },
      ],
    }) + '\n'
  );
}

function* messagesOfSize(bytes: number): Generator<Buffer> {
  let written = 0;
  let i = 0;
  while (written < bytes) {
    const lines: string[] = [];
    let size = 0;
    while (size < 4 * 1024 * 1024 && written + size < bytes) {
      const line = messageLine(i++);
      lines.push(line);
      size += Buffer.byteLength(line);
    }
    written += size;
    yield Buffer.from(lines.join(''));
  }
}

const ROUNDS = 3;

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += chunk.byteLength;
  return bytes;
}

export async function runMessagesBenchmark(): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args: process.argv.slice(3), options: { 'size-mb': { type: 'string' } } });
  const sizeMiB = Number(values['size-mb'] ?? 1024);
  const workDir = mkdtempSync(join(tmpdir(), 'tracepipe-bench-messages-'));
  const azurite = await startAzurite({ location: join(workDir, 'azurite') });
  const database = await createBenchDatabase();
  const hmacSecret = randomBytes(32).toString('base64url');
  const key = generateApiKeySecret();
  const exampleId = crypto.randomUUID();
  const db = createDatabase({ connectionString: database.url, poolMax: 2 });
  try {
    await migrateToLatest(db);
    await seedDatabase(db, { localApiKey: generateApiKeySecret(), apiKeyHmacSecret: hmacSecret });
    const user = await db.insertInto('users').values({ display_name: 'Bench', email: null }).returning('id').executeTakeFirstOrThrow();
    await db
      .insertInto('api_keys')
      .values({ user_id: user.id, name: 'bench', prefix: maskApiKeySecret(key), key_hash: hashApiKeySecret(key, hmacSecret) })
      .execute();
    const session = await db
      .insertInto('sessions')
      .values({
        user_id: user.id,
        suite_id: GMAIL_SUITE_ID,
        storage_path: 'sessions/bench/',
        status: 'ready',
        size_bytes: 1,
        event_count: 1,
        sha256: '0'.repeat(64),
        // A ready session is canonical (sessions_ready_is_canonical).
        format: 'tracepipe-jsonl',
        clock: 'absolute',
        canonical_size_bytes: 1,
        canonical_sha256: '0'.repeat(64),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('examples')
      .values({
        id: exampleId,
        user_id: user.id,
        session_id: session.id,
        suite_id: GMAIL_SUITE_ID,
        model_id: SEED_MODEL_IDS['openai/gpt-4o'] as string,
        action_tool_map_id: GMAIL_ACTION_TOOL_MAP_ID,
        storage_path: `examples/${exampleId}/`,
        status: 'COMPLETED',
        input_tokens: 1,
        output_tokens: 1,
        completed_at: new Date(),
      })
      .execute();
  } finally {
    await db.destroy();
  }

  const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const container = blobs.getContainerClient('examples');
  await container.createIfNotExists();
  await blobs.getContainerClient('sessions').createIfNotExists();
  const blob = container.getBlockBlobClient(`${exampleId}/messages.jsonl`);
  console.log(`writing a ${sizeMiB} MiB messages.jsonl to Azurite...`);
  await blob.uploadStream(Readable.from(messagesOfSize(sizeMiB * 1024 * 1024)), 8 * 1024 * 1024, 4);
  const size = (await blob.getProperties()).contentLength ?? 0;

  const host = await spawnBenchHost(projectRoot, {
    DATABASE_URL: database.url,
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    AzureWebJobsStorage: azurite.connectionString,
    API_KEY_HMAC_SECRET: hmacSecret,
    TRACEPIPE_ENV: 'test',
  });
  try {
    const idleRss = host.rssMiB();
    let peakRss = idleRss;
    // Both legs read with node:http, as the storage SDK does (its Node HTTP client): the ratio is then the API's cost,
    // not the difference between HTTP clients (fetch's web streams cost the reader twice node:http's CPU per byte).
    const throughApi = async () => {
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, host.rssMiB())), 100);
      try {
        const response = await new Promise<IncomingMessage>((resolve, reject) =>
          get(`${host.url}/v1/examples/${exampleId}/messages`, { headers: { 'X-API-Key': key } }, resolve).once('error', reject),
        );
        if (response.statusCode !== 200) throw new Error(`GET messages answered ${response.statusCode}`);
        return await drain(response);
      } finally {
        clearInterval(sampler);
      }
    };
    const direct = async () => drain((await blob.download()).readableStreamBody as AsyncIterable<Uint8Array>);
    // The legs alternate, ROUNDS times each, and each figure is the median: on two cores shared by the reader, the
    // host and Azurite, one reading of a leg varied by a third from run to run.
    const seconds = { api: [] as number[], direct: [] as number[] };
    // CPU per MB of each process, each leg (the reader is `client`): the ratio is Azurite's cost per byte on the
    // direct leg over the busiest process's on the API leg, all on the same two cores.
    const cpu = { api: [] as Array<Record<string, number | null>>, direct: [] as Array<Record<string, number | null>> };
    const mb = size / 1e6;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [leg, read] of [['api', throughApi], ['direct', direct]] as const) {
        const meter = startCpuMeter({ host: host.child.pid, azurite: azurite.pid }, { postgres: false });
        const started = performance.now();
        const bytes = await read();
        seconds[leg].push((performance.now() - started) / 1000);
        cpu[leg].push(meter.per(mb));
        if (bytes !== size) throw new Error(`${leg}: read ${bytes} of ${size} bytes`);
      }
    }
    const medianCpu = (rounds: Array<Record<string, number | null>>) =>
      Object.fromEntries(
        Object.keys(rounds[0] ?? {}).map((name) => {
          const values = rounds.map((round) => round[name]).filter((value): value is number => typeof value === 'number');
          return [name, values.length === rounds.length ? median(values) : null];
        }),
      );
    const apiSeconds = median(seconds.api);
    const directSeconds = median(seconds.direct);
    const figures = {
      size_bytes: size,
      rounds: ROUNDS,
      api_mb_per_s: Number((mb / apiSeconds).toFixed(1)),
      direct_mb_per_s: Number((mb / directSeconds).toFixed(1)),
      ratio: Number((directSeconds / apiSeconds).toFixed(3)),
      host_rss_idle_mib: Math.round(idleRss),
      host_rss_peak_mib: Math.round(peakRss),
      cpu_ms_per_mb: { api: medianCpu(cpu.api), direct: medianCpu(cpu.direct) },
    };
    console.log(`through the API: ${figures.api_mb_per_s} MB/s; direct: ${figures.direct_mb_per_s} MB/s; host RSS ${figures.host_rss_idle_mib} -> ${figures.host_rss_peak_mib} MiB`);
    return figures;
  } finally {
    await host.stop();
    await azurite.stop();
    await database.drop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
