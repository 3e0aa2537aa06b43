import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createDatabase } from '../../shared/db/database.js';
import { migrateToLatest } from '../../shared/db/migrator.js';
import type { Database } from '../../shared/db/schema.js';

/**
 * Where the tests' PostgreSQL comes from: TEST_DATABASE_URL if set, else the server on 127.0.0.1:5432 if it
 * answers, else an in-memory PGlite behind a socket (with a printed notice) so that a fresh clone passes anywhere.
 * Each call gives a database of its own, so suites that migrate up and down never disturb each other.
 */
export interface TestDatabase {
  url: string;
  kind: 'postgres' | 'pglite';
  drop(): Promise<void>;
}

const LOCAL_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

let serverUrlPromise: Promise<string | null> | undefined;

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function findServer(): Promise<string | null> {
  serverUrlPromise ??= (async () => {
    const fromEnv = process.env.TEST_DATABASE_URL;
    if (fromEnv) return fromEnv;
    return (await answers(LOCAL_SERVER_URL)) ? LOCAL_SERVER_URL : null;
  })();
  return serverUrlPromise;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = await findServer();
  if (serverUrl) {
    const name = `tracepipe_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`create database ${name}`);
    } finally {
      await admin.end();
    }
    return {
      url: withDatabase(serverUrl, name),
      kind: 'postgres',
      async drop() {
        const client = new pg.Client({ connectionString: serverUrl });
        await client.connect();
        try {
          await client.query(`drop database if exists ${name} with (force)`);
        } finally {
          await client.end();
        }
      },
    };
  }
  return createPgliteDatabase();
}

let noticePrinted = false;

async function createPgliteDatabase(): Promise<TestDatabase> {
  if (!noticePrinted) {
    noticePrinted = true;
    console.warn(
      'NOTICE: no PostgreSQL at TEST_DATABASE_URL or 127.0.0.1:5432; the tests run against in-memory PGlite. ' +
        'CI always uses a real PostgreSQL.',
    );
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  // Several sockets (the API's pool and the tests' own clients); see dev/embedded/postgres.ts for why.
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 8 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    kind: 'pglite',
    async drop() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * A database of the test file's own with a Kysely pool over it, for the duration of the file (or describe block):
 * call in a describe body; the getters are valid inside tests. Migrated to latest unless `migrated: false`.
 */
export function useTestDatabase(options: { migrated?: boolean } = {}): {
  db(): Kysely<Database>;
  testDatabase(): TestDatabase;
} {
  let testDatabase: TestDatabase | undefined;
  let db: Kysely<Database> | undefined;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    // PGlite (the fallback when no PostgreSQL answers) is one session behind a socket: one connection at a time.
    db = createDatabase({ connectionString: testDatabase.url, poolMax: testDatabase.kind === 'pglite' ? 1 : 2 });
    if (options.migrated !== false) await migrateToLatest(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await testDatabase?.drop();
  });
  return {
    db: () => {
      if (!db) throw new Error('useTestDatabase: the database is open only inside tests');
      return db;
    },
    testDatabase: () => {
      if (!testDatabase) throw new Error('useTestDatabase: the database is open only inside tests');
      return testDatabase;
    },
  };
}
