import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';

/** A pg client on the database of the API under test, open for the test file's tests (to check rows). */
export function useApiDatabaseClient(): pg.Client {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  beforeAll(() => client.connect());
  afterAll(() => client.end());
  return client;
}
