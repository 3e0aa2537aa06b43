import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Pagination } from '../validation/pagination.js';
import { actionsOfSuiteJson } from './actionRepository.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

type Db = Kysely<Database>;

const SUITE_COLUMNS = [
  'suites.id',
  'suites.name',
  'suites.description',
  'suites.created_at',
  'suites.updated_at',
] as const;

/** The suite with every action (by name) and each action's parameters, in one round trip. */
export function findSuiteWithActions(db: Db, suiteId: string) {
  return db
    .selectFrom('suites')
    .select(SUITE_COLUMNS)
    .select(actionsOfSuiteJson)
    .where('suites.id', '=', suiteId)
    .executeTakeFirst();
}


export async function listSuites(db: Db, filters: { name?: string | undefined }, pagination: Pagination) {
  let base = db.selectFrom('suites');
  // lower(name) = lower($1) uses the unique index suites_name_lower_key.
  if (filters.name !== undefined) base = base.where(sql`lower(suites.name)`, '=', sql`lower(${filters.name})`);
  return newestFirstPage(base, (query) => query.select(SUITE_COLUMNS), pagination, 'suites');
}

export async function suiteExists(db: Db, suiteId: string): Promise<boolean> {
  const row = await db.selectFrom('suites').select('id').where('id', '=', suiteId).executeTakeFirst();
  return row !== undefined;
}

/**
 * Whether the suite exists; in a transaction the row is then key-share locked, so that it cannot be deleted
 * before the children written next (whose foreign keys would otherwise fail) are committed.
 */
export async function suiteExistsLocked(db: Db, suiteId: string): Promise<boolean> {
  const row = await db.selectFrom('suites').select('id').where('id', '=', suiteId).forKeyShare().executeTakeFirst();
  return row !== undefined;
}

export async function insertSuite(db: Db, values: { name: string; description: string | null }): Promise<string> {
  const row = await db.insertInto('suites').values(values).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function updateSuite(
  db: Db,
  suiteId: string,
  changes: { name?: string; description?: string | null },
): Promise<boolean> {
  const result = await db.updateTable('suites').set(changes).where('id', '=', suiteId).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteSuite(db: Db, suiteId: string): Promise<boolean> {
  const result = await db.deleteFrom('suites').where('id', '=', suiteId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
