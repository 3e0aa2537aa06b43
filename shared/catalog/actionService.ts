import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../http/pagination.js';
import {
  deleteAction as deleteActionRow,
  deleteActionParameters,
  findAction,
  findActionParameterUses,
  insertAction,
  insertActionParameters,
  listActions as listActionRows,
  lockAction,
  lockActionParameters,
  updateAction as updateActionRow,
  updateActionParameter,
  type ActionRow,
} from './actionRepository.js';
import type { ActionResponse, CreateActionInput, UpdateActionInput } from './actionSchemas.js';
import type { ParameterResponse } from './catalogFieldSchemas.js';
import { duplicateParameterError, withCatalogViolations } from './catalogViolations.js';
import { isoTimestamp } from './isoTimestamp.js';
import { mappedParameterConflict, planParameterReplacement } from './parameterReplacement.js';
import { suiteExists, suiteExistsLocked } from './suiteRepository.js';

type Db = Kysely<Database>;

/** Rows read directly carry Dates; rows nested through jsonArrayFrom carry timestamp strings. */
type ActionLike = Omit<ActionRow, 'created_at' | 'updated_at'> & {
  created_at: Date | string;
  updated_at: Date | string;
};

export function toActionResponse(row: ActionLike): ActionResponse {
  return {
    id: row.id,
    suite_id: row.suite_id,
    name: row.name,
    description: row.description,
    parameters: row.parameters.map(
      (parameter): ParameterResponse => ({
        id: parameter.id,
        name: parameter.name,
        type: parameter.type,
        required: parameter.required,
        description: parameter.description,
      }),
    ),
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at),
  };
}

function suiteNotFound(): ApiError {
  return ApiError.notFound('No suite with this id.');
}

function actionNotFound(): ApiError {
  return ApiError.notFound('No action with this id in this suite.');
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
 * its actions). A duplicate action name or parameter name fails the whole transaction with a 409.
 */
export async function insertActionWithParameters(trx: Db, suiteId: string, input: CreateActionInput): Promise<string> {
  const actionId = await withCatalogViolations({ entity: 'action', values: { field: 'name', name: input.name } }, () =>
    insertAction(trx, { suite_id: suiteId, name: input.name, description: input.description ?? null }),
  );
  await withCatalogViolations({ entity: 'action', parameterNames: input.parameters.map((p) => p.name) }, () =>
    insertActionParameters(
      trx,
      actionId,
      input.parameters.map((parameter, position) => ({ position, parameter })),
    ),
  );
  return actionId;
}

export async function createAction(db: Db, suiteId: string, input: CreateActionInput): Promise<ActionResponse> {
  return db.transaction().execute(async (trx) => {
    if (!(await suiteExistsLocked(trx, suiteId))) throw suiteNotFound();
    const actionId = await insertActionWithParameters(trx, suiteId, input);
    return getAction(trx, suiteId, actionId);
  });
}

/** Renames and/or replaces the parameter list of an action, all in one transaction. */
export async function updateAction(
  db: Db,
  suiteId: string,
  actionId: string,
  input: UpdateActionInput,
): Promise<ActionResponse> {
  return db.transaction().execute(async (trx) => {
    if (!(await lockAction(trx, suiteId, actionId))) throw actionNotFound();
    if (input.parameters) {
      const existing = await lockActionParameters(trx, actionId);
      const uses = await findActionParameterUses(trx, actionId);
      const plan = planParameterReplacement(existing, input.parameters, uses);
      if (plan.duplicateNames.length > 0) throw duplicateParameterError('action', plan.duplicateNames);
      if (plan.conflicts.length > 0) throw mappedParameterConflict('action', plan.conflicts);
      await withCatalogViolations({ entity: 'parameter' }, () => deleteActionParameters(trx, plan.deleteIds));
      for (const update of plan.updates) {
        await updateActionParameter(trx, update.id, update.position, update.parameter);
      }
      await insertActionParameters(trx, actionId, plan.inserts);
    }
    // The rename comes last: if the new name is taken, the parameter changes above roll back with it.
    await withCatalogViolations({ entity: 'action', values: { field: 'name', name: input.name } }, () =>
      updateActionRow(trx, actionId, { name: input.name, description: input.description }),
    );
    return getAction(trx, suiteId, actionId);
  });
}

export async function deleteAction(db: Db, suiteId: string, actionId: string): Promise<void> {
  const deleted = await withCatalogViolations({ entity: 'action' }, () => deleteActionRow(db, suiteId, actionId));
  if (!deleted) throw actionNotFound();
}
