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

/** What executeCompiledPrepared sets for its statement alone (see there), ahead of the EXECUTE. */
const GENERIC_PLAN_SETTINGS = 'set local plan_cache_mode = force_generic_plan; set local jit = off;';
const HASH_GROUPING_SETTINGS = `${GENERIC_PLAN_SETTINGS} set local enable_sort = off;`;

/** The statements prepared on each pooled connection by executeCompiledPrepared, by name. */
const preparedOn = new WeakMap<pg.PoolClient, Set<string>>();

/**
 * A value as an SQL literal of unknown type, which PostgreSQL casts to the type the statement gives its parameter
 * (what the extended protocol does with pg's untyped parameters): strings, numbers, booleans, dates (ISO 8601) and
 * arrays of them, which are all the statements here bind. Quoted as pg's escapeLiteral quotes them.
 */
function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) {
    const items = value.map((item: unknown) => (item === null ? 'NULL' : `"${literalText(item).replace(/[\\"]/g, '\\$&')}"`));
    return quoted(`{${items.join(',')}}`);
  }
  return quoted(literalText(value));
}

/**
 * pg.escapeLiteral, without its work where there is nothing to escape: it builds the literal a character at a time.
 * The usage read's 62 values took 38 µs a call that way, 24 with this (most of the rest is Date#toISOString).
 */
function quoted(text: string): string {
  return /['\\]/.test(text) ? pg.escapeLiteral(text) : `'${text}'`;
}

function literalText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  throw new TypeError(`executeCompiledPrepared cannot bind a ${typeof value} parameter`);
}

/**
 * executePrepared for a statement built at run time whose few shapes repeat (one per number of periods, suite
 * filter...): each shape is named by its text, so each is prepared once per connection, however many values it
 * runs with. For a read whose planning (many subqueries) costs more than its execution, and whose generic plan is
 * as good as a custom one (its predicates are written for it: no partial index or skewed value that only a
 * constant would pick).
 *
 * Preparing alone does not keep the planner away: PostgreSQL plans each execution anew ("custom" plans) for as
 * long as the generic plan's estimate is above theirs (https://www.postgresql.org/docs/15/sql-prepare.html, "Notes"),
 * which with this statement's range parameters it was, on most connections. So it runs on its generic plan
 * (`plan_cache_mode = force_generic_plan`), and the setting must not outlive it: left on a pooled connection it
 * would apply to every statement after it, Kysely's unnamed ones too. Hence one simple-protocol message,
 * `SET LOCAL ...; EXECUTE name(literals)`: its statements are one implicit transaction
 * (https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT), so the setting ends with
 * it, failed or not, in the same round trip. The statement is prepared with SQL PREPARE on the connection's first
 * use (the simple protocol cannot run a protocol-level one), its parameters' types inferred from their use as
 * with pg's untyped parameters, and the values go as quoted literals. GET /v1/usage for a light user: planning had
 * been 2.6-3.4 ms a call against 0.4 to run it. Setting and resetting around the statement would be two round
 * trips more (in Azure each one to the database server and back; here 0.35 ms of Node's CPU a call, measured
 * alone).
 *
 * The same message turns JIT off for the statement (`jit = off`). A generic plan's estimates know no values: the
 * usage read's hours not sampled yet are a generate_series it takes for 1,000 rows, joined to the user's stored
 * objects. For a user with 50,000 of them the estimate passed jit_above_cost (100,000), and PostgreSQL compiled the
 * statement with LLVM on every execution: 1.19 s a call, of which running it was 5 ms (EXPLAIN ANALYZE). A read
 * that runs on every request never earns its compilation back.
 */
export async function executeCompiledPrepared<Row>(
  db: Kysely<Database>,
  prefix: string,
  query: CompiledQuery,
  options: {
    /**
     * Group by hashing, not sorting (`enable_sort = off` for the statement, while its generic plan is made): the
     * generic plan estimates each grouping's input at a handful of rows whatever the user, and sorts it, where a
     * heavy user's is thousands of rows in a few groups.
     */
    hashGrouping?: boolean;
  } = {},
): Promise<Row[]> {
  // Named by what its plan is made from: the text and the settings.
  const shape = options.hashGrouping ? `${query.sql}\0hash grouping` : query.sql;
  const statementName = `${prefix}_${createHash('sha256').update(shape).digest('base64url').slice(0, 22)}`;
  const pool = pools.get(db);
  if (!pool) return executePrepared<Row>(db, { name: statementName, text: query.sql }, [...query.parameters]);
  const name = pg.escapeIdentifier(statementName);
  const client = await pool.connect();
  try {
    let prepared = preparedOn.get(client);
    if (!prepared) preparedOn.set(client, (prepared = new Set()));
    if (!prepared.has(name)) {
      await client.query(`prepare ${name} as ${query.sql}`);
      prepared.add(name);
    }
    const values = query.parameters.map(sqlLiteral);
    const execute = values.length > 0 ? `execute ${name}(${values.join(', ')})` : `execute ${name}`;
    const settings = options.hashGrouping ? HASH_GROUPING_SETTINGS : GENERIC_PLAN_SETTINGS;
    // Several statements in one message: pg answers with a result for each, the statement's last.
    const results = (await client.query(`${settings} ${execute}`)) as unknown as pg.QueryResult[];
    return (results.at(-1)?.rows ?? []) as Row[];
  } finally {
    client.release();
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
