/**
 * `npm run bench -- stripe-sync [--scale 1]`: the Stripe sync and GET /v1/usage at size.
 *
 * - Seeds, with generate_series in a database of its own: 10,000 users with Stripe customers, 5,000,000 token usage
 *   rows over this month and the last (the daily rollup kept by the same triggers the app relies on), of which
 *   90,000 recent ones are unsent, plus 10,000 unsent storage samples: 100,000 unsent rows in all. Rows are stored
 *   in time order, as the app writes them.
 * - Runs one sync in this process (the code the timer runs) against the fake Stripe of the tests, and prints meter
 *   events per second and database round trips per event (every query Kysely sends, counted by its log hook).
 * - Serves the app through the local host and times GET /v1/usage (p50/p99) for the heaviest users and for random
 *   ones; for comparison, the same month summed straight from the usage rows of the heaviest user.
 * `--scale 0.1` divides every count by ten; `--keep-database` leaves the database (its URL printed) for EXPLAIN. The database is BENCH_DATABASE_URL's server (default the local one).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../shared/auth/apiKeySecret.js';
import { createStripeClient } from '../shared/billing/stripeClient.js';
import { MeterEventStream } from '../shared/billing/meterEventStream.js';
import { syncUsageToStripe } from '../shared/billing/stripeSync.js';
import { createDatabase } from '../shared/db/database.js';
import { migrateToLatest } from '../shared/db/migrator.js';
import type { Database } from '../shared/db/schema.js';
import { startFakeStripe, TEST_METER_EVENTS } from '../fakes/fakeStripe.js';
import { createBenchDatabase, getStatus, percentile, projectRoot, spawnBenchHost, startCpuMeter, type BenchHost } from './benchSupport.js';

const CONCURRENCY = 32;
const USAGE_REQUESTS = 2_000;
const USAGE_CONNECTIONS = 16;
/** Requests timed one at a time (the heaviest users' and random ones', alternating, as in the loaded run). */
const UNLOADED_REQUESTS = 400;

function scaleArg(): number {
  const index = process.argv.indexOf('--scale');
  const value = index >= 0 ? Number(process.argv[index + 1]) : 1;
  if (!Number.isFinite(value) || value <= 0) throw new Error('--scale must be a positive number');
  return value;
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

async function seed(
  db: Kysely<Database>,
  counts: { users: number; usageRows: number; unsentTokens: number },
  isLocalServer: boolean,
) {
  await timed('catalog and users', async () => {
    await sql`insert into suites (name) values ('Bench suite')`.execute(db);
    await sql`insert into mcp_servers (name) values ('Bench server')`.execute(db);
    await sql`insert into action_tool_maps (suite_id, mcp_server_id) select s.id, m.id from suites s, mcp_servers m`.execute(db);
    await sql`
      insert into models (provider, name) values
        ('OPENAI', 'gpt-4o'), ('OPENAI', 'gpt-4o-mini'), ('ANTHROPIC', 'claude-sonnet-4'), ('VERTEXAI', 'gemini-2.5-pro')`.execute(db);
    await sql`
      insert into users (display_name, email, stripe_customer_id, default_payment_method_id, created_at)
      select 'Bench ' || n, 'bench' || n || '@example.com', 'cus_bench' || lpad(n::text, 8, '0'), 'pm_bench',
             now() - interval '60 days'
      from generate_series(1, ${counts.users}) as n`.execute(db);
    // Each subscribed since before the usage began, so that every unsent row is billable and sent.
    await sql`
      insert into billing_subscriptions (stripe_subscription_id, user_id, status, started_at, billing_cycle_anchor, synced_at)
      select 'sub_bench' || u.id, u.id, 'active', now() - interval '60 days', now() - interval '60 days', now()
      from users u`.execute(db);
    await sql`
      insert into sessions (user_id, suite_id, storage_path, status, size_bytes, event_count, sha256,
                            format, clock, canonical_size_bytes, canonical_sha256, stored_bytes)
      select u.id, s.id, 'sessions/' || u.id || '/', 'ready', g.size, 1000, repeat('a', 64),
             'tracepipe-jsonl', 'absolute', g.size, repeat('a', 64), g.size
      from users u, suites s, lateral (select 50000000 + (random() * 1e9)::bigint + (u.id is null)::int as size) g`.execute(db);
  });

  // Usage rows point at examples by id; the bench skips the 5 million example rows, so foreign keys are not
  // checked while seeding (replica mode). The rollup's and the sync work list's triggers are made to fire in that
  // mode too.
  await timed(`${counts.usageRows} token usage rows (and the rollup)`, async () => {
    await db.connection().execute(async (connection) => {
      await sql`alter table token_usage enable always trigger token_usage_daily_insert`.execute(connection);
      await sql`alter table token_usage enable always trigger token_usage_lists_insert`.execute(connection);
      await sql`set session_replication_role = replica`.execute(connection);
      // Users ranked by id; a power law gives the first ones most of the usage, as real customers would.
      await sql`
        insert into token_usage (user_id, example_id, suite_id, model_id, input_tokens, output_tokens, recorded_at,
                                 stripe_sent_at, stripe_resolution)
        select u.id, gen_random_uuid(), s.id, m.id, 500 + (random() * 5000)::int, 100 + (random() * 2000)::int,
               g.recorded_at, case when g.n <= ${counts.unsentTokens} then null else now() end,
               case when g.n <= ${counts.unsentTokens} then null else 'sent' end
        from (
          select n,
            1 + floor(power(random(), 3) * ${counts.users})::int as user_rank,
            1 + floor(random() * 4)::int as model_rank,
            case when n <= ${counts.unsentTokens} then now() - random() * interval '3 days'
                 else now() - random() * interval '50 days' end as recorded_at
          from generate_series(1, ${counts.usageRows}) as n
        ) g
        join (select id, row_number() over (order by id) as rank from users) u on u.rank = g.user_rank
        join (select id, row_number() over (order by id) as rank from models) m on m.rank = g.model_rank
        cross join suites s
        -- In the order they happen, as the app writes them: without it the join stores them grouped by user, and
        -- the rows the sync updates (the latest) lie one per page over the whole table instead of together.
        order by g.recorded_at`.execute(connection);
      await sql`set session_replication_role = origin`.execute(connection);
      await sql`alter table token_usage enable trigger token_usage_daily_insert`.execute(connection);
      await sql`alter table token_usage enable trigger token_usage_lists_insert`.execute(connection);
    });
    // As autovacuum leaves a table that grew over months (the local server runs with autovacuum off): hint bits
    // and the visibility map set, statistics current. Without it the sync that follows pays the seed's one-off
    // first-read costs of 5 million rows.
    await sql`vacuum (analyze)`.execute(db);
    // And the seed's gigabytes of WAL checkpointed before the clock starts: else checkpoints it forces run through
    // the sync, and every page the sync touches first is written whole into the WAL again.
    await sql`checkpoint`.execute(db);
    // The checkpoint hands the kernel gigabytes to write back, and every commit of the sync waits for its WAL
    // flush behind them (13.7 s for the sync straight after, 9.0 s on the same data later). On a local server,
    // the kernel's writeback is finished first.
    if (isLocalServer) execFileSync('sync');
  });

  await timed('storage samples (one unsent hour per user)', async () => {
    await sql`
      insert into storage_samples (user_id, hour, bytes)
      select u.id, date_trunc('hour', now(), 'UTC') - interval '1 hour', s.size_bytes
      from users u join sessions s on s.user_id = u.id`.execute(db);
  });
}

async function measureSync(url: string, fakeUrl: string, secretKey: string) {
  let queries = 0;
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') queries++;
    },
  });
  try {
    const settings = { secretKey, apiUrl: fakeUrl, timeoutMs: 20_000 };
    const stripe = createStripeClient(settings, { retries: 0 });
    // As the timer runs it (functions/timers.ts): the v2 stream for large backlogs, unless --v1-only.
    const meterEventStream = process.argv.includes('--v1-only')
      ? undefined
      : new MeterEventStream(stripe, (token) => createStripeClient({ ...settings, secretKey: token }, { retries: 0 }));
    const started = performance.now();
    const report = await syncUsageToStripe(
      db,
      stripe,
      {
        eventNames: TEST_METER_EVENTS,
        concurrency: CONCURRENCY,
        timeBudgetMs: 30 * 60_000,
        invoiceGraceMs: 3_600_000,
        ...(meterEventStream ? { meterEventStream } : {}),
      },
      { log: () => undefined, warn: console.warn, error: console.error },
    );
    const seconds = (performance.now() - started) / 1000;
    return { report, seconds, queries };
  } finally {
    await db.destroy();
  }
}

async function measureUsage(url: string, hmacSecret: string, users: number) {
  const db = createDatabase({ connectionString: url, poolMax: 2 });
  const keys: string[] = [];
  try {
    // Half the requests for the 10 heaviest users, half for random ones; a key per request keeps 429s out.
    const { rows } = await sql<{ id: string }>`
      (select user_id as id from token_usage_daily group by user_id order by sum(input_tokens + output_tokens) desc limit 10)
      union all
      (select id from users order by random() limit ${Math.min(users, 1000)})`.execute(db);
    const heavy = rows.slice(0, 10).map((row) => row.id);
    const random = rows.slice(10).map((row) => row.id);
    const values = Array.from({ length: USAGE_REQUESTS }, (_, i) => {
      const key = generateApiKeySecret();
      keys.push(key);
      const userId = i % 2 === 0 ? heavy[i % heavy.length] : random[i % random.length];
      return { user_id: userId as string, prefix: maskApiKeySecret(key), key_hash: hashApiKeySecret(key, hmacSecret) };
    });
    await db.insertInto('api_keys').values(values).execute();
    const heaviest = heavy[0] as string;
    const scanStarted = performance.now();
    await sql`
      select sum(input_tokens + output_tokens) from token_usage
      where user_id = ${heaviest} and recorded_at >= date_trunc('month', now(), 'UTC')`.execute(db);
    const scanMs = performance.now() - scanStarted;
    const { rows: heaviestRows } = await sql<{ n: number }>`
      select count(*) as n from token_usage where user_id = ${heaviest} and recorded_at >= date_trunc('month', now(), 'UTC')`.execute(db);
    return { keys, scanMs, heaviestMonthRows: heaviestRows[0]?.n ?? 0 };
  } finally {
    await db.destroy();
  }
}

async function startHost(url: string, hmacSecret: string): Promise<BenchHost> {
  return spawnBenchHost(projectRoot, {
    DATABASE_URL: url,
    DATABASE_POOL_MAX: '10',
    AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    API_KEY_HMAC_SECRET: hmacSecret,
    TRACEPIPE_ENV: 'test',
    // Only HTTP matters here: no storage emulator runs, so the blob trigger and timers stay off.
    'AzureWebJobs.indexSessionUpload.Disabled': 'true',
    'AzureWebJobs.drainExampleJobOutbox.Disabled': 'true',
    'AzureWebJobs.sampleStorage.Disabled': 'true',
    'AzureWebJobs.syncUsageToStripe.Disabled': 'true',
    'AzureWebJobs.closeBillingPeriods.Disabled': 'true',
    'AzureWebJobs.reconcileBilling.Disabled': 'true',
    'AzureWebJobs.purgeRateLimitWindows.Disabled': 'true',
  });
}

/**
 * Times GET `path` once per key over `connections` kept-alive connections, as a client's pool would: p50/p99, and the
 * CPU each request cost the host, PostgreSQL and this process (the generator).
 */
async function timeRequests(host: BenchHost, path: string, keys: string[], connections: number) {
  const latencies: number[] = [];
  let non200 = 0;
  let next = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const request = (key: string) => getStatus(`${host.url}${path}`, { 'X-API-Key': key }, agent);
  let cpu;
  try {
    // Warm-up: JIT and pool connections.
    for (const key of keys.slice(0, 20)) await request(key);
    const meter = startCpuMeter({ host: host.child.pid });
    await Promise.all(
      Array.from({ length: connections }, async () => {
        for (let i = next++; i < keys.length; i = next++) {
          const sent = performance.now();
          const status = await request(keys[i] as string);
          latencies.push(performance.now() - sent);
          if (status !== 200) non200++;
        }
      }),
    );
    cpu = meter.per(keys.length);
  } finally {
    agent.destroy();
  }
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: sorted.length,
    non_200: non200,
    p50_ms: Number(percentile(sorted, 50).toFixed(2)),
    p99_ms: Number(percentile(sorted, 99).toFixed(2)),
    cpu_ms_per_request: cpu,
  };
}

export async function runStripeSyncBenchmark(): Promise<Record<string, unknown>> {
  const scale = scaleArg();
  const counts = {
    users: Math.max(10, Math.round(10_000 * scale)),
    usageRows: Math.max(100, Math.round(5_000_000 * scale)),
    unsentTokens: Math.max(10, Math.round(90_000 * scale)),
  };
  const database = await createBenchDatabase();
  const hmacSecret = randomBytes(32).toString('base64url');
  const fake = await startFakeStripe({ meters: [{ eventName: TEST_METER_EVENTS.tokens }, { eventName: TEST_METER_EVENTS.storage }] });
  try {
    const db = createDatabase({ connectionString: database.url, poolMax: 2 });
    try {
      await migrateToLatest(db);
      await seed(db, counts, ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(database.url).hostname));
    } finally {
      await db.destroy();
    }
    for (let n = 1; n <= counts.users; n++) fake.addCustomer(`cus_bench${String(n).padStart(8, '0')}`);

    const sync = await timed('sync', () => measureSync(database.url, fake.url, fake.secretKey));
    const details = sync.report.details as Record<string, number>;
    const events = details.sent ?? 0;
    const unique = new Set(fake.meterEvents.map((event) => event.identifier)).size;
    const syncFigures = {
      outcome: sync.report.outcome,
      unsent_rows: counts.unsentTokens + counts.users,
      events_sent: events,
      nothing_to_send: details.nothing_to_send ?? 0,
      duplicates_in_stripe: fake.meterEvents.length - unique,
      seconds: Number(sync.seconds.toFixed(2)),
      events_per_second: Math.round(events / sync.seconds),
      db_round_trips: sync.queries,
      db_round_trips_per_event: Number((sync.queries / Math.max(1, events)).toFixed(4)),
      concurrency: CONCURRENCY,
      stripe_calls: details.calls ?? 0,
      events_over_v2_stream: fake.meterEventStreamCount(),
      events_over_v1: fake.requests.filter((request) => request.path === '/v1/billing/meter_events').length,
    };
    console.log(`sync: ${JSON.stringify(syncFigures)}`);

    const usage = await timed('usage keys', () => measureUsage(database.url, hmacSecret, counts.users));
    const host = await startHost(database.url, hmacSecret);
    let usageFigures;
    let baseline;
    let unloaded;
    try {
      usageFigures = await timeRequests(host, '/v1/usage', usage.keys, USAGE_CONNECTIONS);
      // One request at a time: what a request takes when none waits for another (queueing on the cores the host,
      // PostgreSQL and the generator share is the rest of the loaded figure).
      unloaded = await timeRequests(host, '/v1/usage', usage.keys.slice(0, UNLOADED_REQUESTS), 1);
      // The same keys on an endpoint that does only authentication and one row read: what the wrapper costs.
      baseline = await timeRequests(host, '/v1/users/me', usage.keys, USAGE_CONNECTIONS);
    } finally {
      await host.stop();
    }
    console.log(`GET /v1/usage: ${JSON.stringify(usageFigures)}`);
    console.log(`GET /v1/users/me (baseline): ${JSON.stringify(baseline)}`);
    return {
      scale,
      users: counts.users,
      usage_rows: counts.usageRows,
      sync: syncFigures,
      get_usage: {
        ...usageFigures,
        heaviest_user_rows_this_month: usage.heaviestMonthRows,
        heaviest_user_scan_ms: Number(usage.scanMs.toFixed(2)),
        connections: USAGE_CONNECTIONS,
        one_connection: { requests: unloaded.requests, p50_ms: unloaded.p50_ms, p99_ms: unloaded.p99_ms },
      },
      baseline_get_users_me: { p50_ms: baseline.p50_ms, p99_ms: baseline.p99_ms, cpu_ms_per_request: baseline.cpu_ms_per_request },
    };
  } finally {
    await fake.close();
    // --keep-database: left for EXPLAIN and profiling; its URL is printed.
    if (process.argv.includes('--keep-database')) console.log(`database kept: ${database.url}`);
    else await database.drop();
  }
}
