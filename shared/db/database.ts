import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// int8 (COUNT, SUM, bigint columns) arrives as a string by default. Every bigint we store (bytes, tokens,
// counts) stays far below 2^53, so numbers are what callers expect; numeric stays a string on purpose.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface DatabaseOptions {
  connectionString: string;
  /**
   * The password, asked for each new connection, when the connection string carries none: a Microsoft Entra
   * access token in Azure (./entraPassword.ts).
   */
  password?: () => Promise<string>;
  poolMax?: number;
  /** Milliseconds to wait for a connection before failing (so an outage surfaces as 503, not a hang). */
  connectionTimeoutMs?: number;
}

/**
 * Where to connect. With a password function the URL is taken apart here: pg lays the parsed connection string
 * over the rest of the config, its empty password included, which would drop the function. Of the URL's query
 * only `sslmode` and `sslrootcert` are read then: any mode but `disable` is TLS with the server's certificate
 * verified (node-postgres treats require and verify-ca as verify-full too), against Node's CA list or the
 * certificates in the `sslrootcert` file.
 */
function connectionConfig(options: DatabaseOptions): pg.PoolConfig {
  if (!options.password) return { connectionString: options.connectionString };
  const url = new URL(options.connectionString);
  const sslmode = url.searchParams.get('sslmode');
  const rootCertFile = url.searchParams.get('sslrootcert');
  const tls = sslmode !== null && sslmode !== 'disable';
  return {
    host: decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
    user: decodeURIComponent(url.username),
    password: options.password,
    ssl: tls && rootCertFile ? { ca: readFileSync(rootCertFile, 'utf8') } : tls,
  };
}

const pools = new WeakMap<Kysely<Database>, pg.Pool>();

/** A statement PostgreSQL prepares once per connection, by name: `text` uses $1, $2... */
export interface PreparedStatement {
  name: string;
  text: string;
}

/**
 * Runs a named prepared statement: node-postgres parses it once per pooled connection and PostgreSQL keeps its plan
 * (https://node-postgres.com/features/queries#prepared-statements), where an unnamed one is parsed and planned on
 * every call. For the statement of every request (authentication), whose planning costs more than its execution
 * (measured with pgbench: 2,300 executions a second unprepared, 11,900 prepared). Kysely sends unnamed statements
 * only, hence the pool itself; a database this module did not create (a test's) runs it unnamed.
 */
export async function executePrepared<Row>(db: Kysely<Database>, statement: PreparedStatement, values: unknown[]): Promise<Row[]> {
  const pool = pools.get(db);
  if (!pool) return (await db.executeQuery(CompiledQuery.raw(statement.text, values))).rows as Row[];
  const result = await pool.query({ name: statement.name, text: statement.text, values });
  return result.rows as Row[];
}

const GENERIC_PLAN = 'set plan_cache_mode = force_generic_plan';
const DEFAULT_PLAN = 'reset plan_cache_mode';

/**
 * executePrepared for a statement built at run time whose few shapes repeat (one per number of periods, suite
 * filter...): each shape is named by its text, so each is prepared once per connection, however many values it
 * runs with. For a read whose planning (many subqueries) costs more than its execution, and whose generic plan is
 * as good as a custom one (its predicates are written for it: no partial index or skewed value that only a
 * constant would pick).
 *
 * Preparing alone does not keep the planner away: PostgreSQL plans each execution anew ("custom" plans) for as
 * long as the generic plan's estimate is above theirs (https://www.postgresql.org/docs/15/sql-prepare.html, "Notes"),
 * and for this one it is (its range parameters). So the statement runs with `plan_cache_mode = force_generic_plan`, set
 * for it alone on its connection and reset after it: a setting left on a pooled connection would apply to every
 * statement after it, Kysely's unnamed ones too. GET /v1/usage for a light user went from 3.7 ms to 0.8-1.1 per call,
 * the two settings' round trips included (planning had been 2.6 ms of it, with 1,177 buffers read).
 */
export async function executeCompiledPrepared<Row>(db: Kysely<Database>, prefix: string, query: CompiledQuery): Promise<Row[]> {
  const name = `${prefix}_${createHash('sha256').update(query.sql).digest('base64url').slice(0, 22)}`;
  const pool = pools.get(db);
  if (!pool) return executePrepared<Row>(db, { name, text: query.sql }, [...query.parameters]);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(GENERIC_PLAN);
    return (await client.query({ name, text: query.sql, values: [...query.parameters] })).rows as Row[];
  } finally {
    // Reset even after a failed statement (the connection is usable again); a connection that cannot take the
    // reset is dropped from the pool rather than handed on with the setting.
    await client.query(DEFAULT_PLAN).catch((error: unknown) => {
      broken = error instanceof Error ? error : new Error(String(error));
    });
    client.release(broken);
  }
}

export function createDatabase(options: DatabaseOptions): Kysely<Database> {
  const pool = new pg.Pool({
    ...connectionConfig(options),
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener Node would crash.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}
