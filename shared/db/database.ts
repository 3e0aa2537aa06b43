import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// int8 (COUNT, SUM, bigint columns) arrives as a string by default. Every bigint we store (bytes, tokens,
// counts) stays far below 2^53, so numbers are what callers expect; numeric stays a string on purpose.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface DatabaseOptions {
  connectionString: string;
  poolMax?: number;
  /** Milliseconds to wait for a connection before failing (so an outage surfaces as 503, not a hang). */
  connectionTimeoutMs?: number;
}

export function createDatabase(options: DatabaseOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener Node would crash.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
