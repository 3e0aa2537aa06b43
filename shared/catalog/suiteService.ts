import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { toPage, type Page } from '../validation/pagination.js';
import { insertActionWithParameters, toActionResponse } from './actionService.js';
import { isoTimestamp } from './isoTimestamp.js';
import { suiteNotFound, withCatalogViolations } from './catalogViolations.js';
import type {
  CreateSuiteInput,
  SuiteListFilters,
  SuiteResponse,
  SuiteWithActionsResponse,
  UpdateSuiteInput,
} from './suiteSchemas.js';
import {
  deleteSuite as deleteSuiteRow,
  findSuiteWithActions,
  insertSuite,
  listSuites as listSuiteRows,
  updateSuite as updateSuiteRow,
} from './suiteRepository.js';

/* Suites: the applications whose use is recorded, each with its actions. */

type Db = Kysely<Database>;

function toSuiteResponse(row: {
  id: string;
  name: string;
  description: string | null;
  created_at: Date;
  updated_at: Date;
}): SuiteResponse {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at),
  };
}

export async function listSuites(db: Db, filters: SuiteListFilters): Promise<Page<SuiteResponse>> {
  const page = await listSuiteRows(db, { name: filters.name }, filters);
  return toPage(page.rows.map(toSuiteResponse), page.total, filters);
}

export async function getSuite(db: Db, suiteId: string): Promise<SuiteWithActionsResponse> {
  const row = await findSuiteWithActions(db, suiteId);
  if (!row) throw suiteNotFound();
  return { ...toSuiteResponse(row), actions: row.actions.map(toActionResponse) };
}

/** Creates the suite and the actions given with it, in one transaction: all of it or nothing. */
export async function createSuite(db: Db, input: CreateSuiteInput): Promise<SuiteWithActionsResponse> {
  return db.transaction().execute(async (trx) => {
    const suiteId = await withCatalogViolations({ entity: 'suite', values: { field: 'name', name: input.name } }, () =>
      insertSuite(trx, { name: input.name, description: input.description ?? null }),
    );
    for (const action of input.actions) await insertActionWithParameters(trx, suiteId, action);
    return getSuite(trx, suiteId);
  });
}

export async function updateSuite(db: Db, suiteId: string, input: UpdateSuiteInput): Promise<SuiteWithActionsResponse> {
  const updated = await withCatalogViolations({ entity: 'suite', values: { field: 'name', name: input.name } }, () =>
    updateSuiteRow(db, suiteId, { name: input.name, description: input.description }),
  );
  if (!updated) throw suiteNotFound();
  return getSuite(db, suiteId);
}

/**
 * Deletes the suite with its actions. What refers to it without cascading (sessions, examples, action-tool maps)
 * makes the one DELETE statement fail (23503) and nothing is deleted: 409.
 */
export async function deleteSuite(db: Db, suiteId: string): Promise<void> {
  const deleted = await withCatalogViolations({ entity: 'suite' }, () => deleteSuiteRow(db, suiteId));
  if (!deleted) throw suiteNotFound();
}
