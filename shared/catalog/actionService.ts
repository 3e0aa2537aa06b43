import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../validation/pagination.js';
import {
  deleteAction as deleteActionRow,
  findAction,
  insertAction,
  listActions as listActionRows,
  lockAction,
  updateAction as updateActionRow,
  type ActionRow,
} from './actionRepository.js';
import type { ActionResponse, CreateActionInput, UpdateActionInput } from './actionSchemas.js';
import { suiteNotFound, withCatalogViolations } from './catalogViolations.js';
import { isoTimestamp } from './isoTimestamp.js';
import { insertParameters } from './parameterRepository.js';
import { replaceParameters } from './parameterReplacement.js';
import { suiteExists } from './suiteRepository.js';

/* Actions: the canonical actions of a suite, each with an ordered list of typed parameters. */

type Db = Kysely<Database>;

/** Rows read directly carry Dates; rows nested in a suite's JSON (suiteRepository) carry timestamp strings. */
export type ActionRowLike = Omit<ActionRow, 'created_at' | 'updated_at'> & {
  created_at: Date | string;
  updated_at: Date | string;
};

function actionNotFound(): ApiError {
  return ApiError.notFound('No action with this id in this suite.');
}

export function toActionResponse(row: ActionRowLike): ActionResponse {
  return {
    id: row.id,
    suite_id: row.suite_id,
    name: row.name,
    description: row.description,
    parameters: row.parameters.map((parameter) => ({
      id: parameter.id,
      name: parameter.name,
      type: parameter.type,
      required: parameter.required,
      description: parameter.description,
    })),
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at),
  };
}

export async function listActions(db: Db, suiteId: string, pagination: Pagination): Promise<Page<ActionResponse>> {
  const [exists, page] = await Promise.all([suiteExists(db, suiteId), listActionRows(db, suiteId, pagination)]);
  if (!exists) throw suiteNotFound();
  return toPage(page.rows.map(toActionResponse), page.total, pagination);
}

export async function getAction(db: Db, suiteId: string, actionId: string): Promise<ActionResponse> {
  const row = await findAction(db, suiteId, actionId);
  if (!row) throw actionNotFound();
  return toActionResponse(row);
}

/**
 * Inserts an action with its parameters inside the caller's transaction (also used when a suite is created with
 * its actions). A duplicate action name or parameter name fails the whole transaction with a 409; a suite that does not
 * exist fails the insert's foreign key, a 404 (catalogViolations.ts).
 */
export async function insertActionWithParameters(trx: Db, suiteId: string, input: CreateActionInput): Promise<string> {
  const actionId = await withCatalogViolations({ entity: 'action', values: { field: 'name', name: input.name } }, () =>
    insertAction(trx, { suite_id: suiteId, name: input.name, description: input.description ?? null }),
  );
  await withCatalogViolations({ entity: 'action', parameterNames: input.parameters.map((p) => p.name) }, () =>
    insertParameters(
      trx,
      'action',
      actionId,
      input.parameters.map((parameter, position) => ({ position, parameter })),
    ),
  );
  return actionId;
}

/** POST /v1/suites/{suite_id}/actions: the action and its parameters in one transaction. */
export async function createAction(db: Db, suiteId: string, input: CreateActionInput): Promise<ActionResponse> {
  return db.transaction().execute(async (trx) => {
    const actionId = await insertActionWithParameters(trx, suiteId, input);
    return getAction(trx, suiteId, actionId);
  });
}

/** Renames an action and/or replaces its parameter list (parameterReplacement.ts), all in one transaction. */
export async function updateAction(
  db: Db,
  suiteId: string,
  actionId: string,
  input: UpdateActionInput,
): Promise<ActionResponse> {
  return db.transaction().execute(async (trx) => {
    if (!(await lockAction(trx, suiteId, actionId))) throw actionNotFound();
    if (input.parameters) await replaceParameters(trx, 'action', actionId, input.parameters);
    // The rename comes last: if the new name is taken, the parameter changes above roll back with it.
    await withCatalogViolations({ entity: 'action', values: { field: 'name', name: input.name } }, () =>
      updateActionRow(trx, actionId, { name: input.name, description: input.description }),
    );
    return getAction(trx, suiteId, actionId);
  });
}

/** Deletes the action with its parameters; 409, deleting nothing, while an action-tool map maps it. */
export async function deleteAction(db: Db, suiteId: string, actionId: string): Promise<void> {
  const deleted = await withCatalogViolations({ entity: 'action' }, () => deleteActionRow(db, suiteId, actionId));
  if (!deleted) throw actionNotFound();
}
