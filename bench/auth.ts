import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../shared/auth/apiKeySecret.js';
import { createDatabase } from '../shared/db/database.js';
import { migrateToLatest } from '../shared/db/migrator.js';
import { createBenchDatabase, percentile, projectRoot, spawnBenchHost } from './benchSupport.js';

const CONNECTIONS = 32;
// The two routes are measured in alternating rounds, so that load elsewhere on the machine hits both alike.
const ROUNDS = 5;
const SECONDS_PER_ROUND = 3;
// Each key may make 100 requests a minute; spreading the load over many keys keeps 429s out of the figures.
const KEYS = 2_000;

interface RouteFigures {
  requests: number;
  non_200: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

interface Samples {
  latencies: number[];
  non200: number;
  seconds: number;
}

let counter = 0;

async function load(
  samples: Samples,
  url: string,
  headersFor: (i: number) => Record<string, string>,
): Promise<void> {
  const started = performance.now();
  const deadline = started + SECONDS_PER_ROUND * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const i = counter++;
        const sent = performance.now();
        const response = await fetch(url, { headers: headersFor(i) });
        await response.arrayBuffer();
        samples.latencies.push(performance.now() - sent);
        if (response.status !== 200) samples.non200++;
      }
    }),
  );
  samples.seconds += (performance.now() - started) / 1000;
}

function figuresOf(samples: Samples): RouteFigures {
  const sorted = [...samples.latencies].sort((a, b) => a - b);
  return {
    requests: sorted.length,
    non_200: samples.non200,
    rps: Math.round(sorted.length / samples.seconds),
    p50_ms: Number(percentile(sorted, 50).toFixed(2)),
    p99_ms: Number(percentile(sorted, 99).toFixed(2)),
  };
}

export async function runAuthBenchmark(): Promise<Record<string, unknown>> {
  const database = await createBenchDatabase(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const hmacSecret = randomBytes(32).toString('base64url');
  const keys = Array.from({ length: KEYS }, () => generateApiKeySecret());
  const db = createDatabase({ connectionString: database.url, poolMax: 2 });
  let userId: string;
  try {
    await migrateToLatest(db);
    const user = await db
      .insertInto('users')
      .values({ display_name: 'Bench', email: 'bench@example.com' })
      .returning('id')
      .executeTakeFirstOrThrow();
    userId = user.id;
    await db
      .insertInto('api_keys')
      .values(
        keys.map((key) => ({
          user_id: userId,
          name: 'bench',
          prefix: maskApiKeySecret(key),
          key_hash: hashApiKeySecret(key, hmacSecret),
        })),
      )
      .execute();
  } finally {
    await db.destroy();
  }

  // The bench app lives in dist/bench/authApp; the host needs a package.json and host.json beside it.
  const appDir = join(projectRoot, 'dist/bench/authApp');
  mkdirSync(appDir, { recursive: true });
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ type: 'module', main: 'functions.js' }));
  cpSync(join(projectRoot, 'host.json'), join(appDir, 'host.json'));

  const host = await spawnBenchHost(appDir, {
    DATABASE_URL: database.url,
    AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    API_KEY_HMAC_SECRET: hmacSecret,
    BENCH_USER_ID: userId,
    TRACEPIPE_ENV: 'test',
  });
  const url = host.url;
  try {
    const keyed = (i: number) => ({ 'X-API-Key': keys[i % KEYS] as string });
    const warmup: Samples = { latencies: [], non200: 0, seconds: 0 };
    await load(warmup, `${url}/v1/bench/users/me`, () => ({})); // JIT, pool connections
    await load(warmup, `${url}/v1/users/me`, keyed);
    const without: Samples = { latencies: [], non200: 0, seconds: 0 };
    const withKey: Samples = { latencies: [], non200: 0, seconds: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      await load(without, `${url}/v1/bench/users/me`, () => ({}));
      await load(withKey, `${url}/v1/users/me`, keyed);
    }
    const withoutAuth = figuresOf(without);
    const withAuth = figuresOf(withKey);
    console.log(`without auth: ${JSON.stringify(withoutAuth)}`);
    console.log(`with auth:    ${JSON.stringify(withAuth)}`);
    return {
      connections: CONNECTIONS,
      seconds_per_route: ROUNDS * SECONDS_PER_ROUND,
      with_auth: withAuth,
      without_auth: withoutAuth,
      rps_ratio: Number((withAuth.rps / withoutAuth.rps).toFixed(3)),
      auth_cost_fraction: Number((1 - withAuth.rps / withoutAuth.rps).toFixed(3)),
    };
  } finally {
    await host.stop();
    await database.drop();
  }
}
