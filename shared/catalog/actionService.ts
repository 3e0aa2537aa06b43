import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../http/pagination.js';
import {
  deleteAction as deleteActionRow,
  deleteActionParameters,
  findAction,
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
import { duplicateParameterError, withCatalogViolations } from './catalogViolations.js';
import { isoTimestamp } from './isoTimestamp.js';
import { mappedParameterConflict, planParameterReplacement } from './parameterReplacement.js';
import { findParameterUses } from './parameterUseRepository.js';
import { suiteNotFound } from './parentNotFound.js';
import { suiteExists, suiteExistsLocked } from './suiteRepository.js';

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

/** POST /v1/suites/{suite_id}/actions: the action and its parameters in one transaction. */
export async function createAction(db: Db, suiteId: string, input: CreateActionInput): Promise<ActionResponse> {
  return db.transaction().execute(async (trx) => {
    // Key-share locked: the suite cannot be deleted before the action is committed.
    if (!(await suiteExistsLocked(trx, suiteId))) throw suiteNotFound();
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
    if (input.parameters) {
      const existing = await lockActionParameters(trx, actionId);
      const uses = await findParameterUses(trx, 'action', actionId);
      const plan = planParameterReplacement(existing, input.parameters, uses);
      if (plan.duplicateNames.length > 0) throw duplicateParameterError('action', plan.duplicateNames);
      if (plan.conflicts.length > 0) throw mappedParameterConflict('action', plan.conflicts);
      await withCatalogViolations({ entity: 'parameter' }, () => deleteActionParameters(trx, plan.deleteIds));
      for (const change of plan.updates) {
        await updateActionParameter(trx, change.id, change.position, change.parameter);
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

/** Deletes the action with its parameters; 409, deleting nothing, while an action-tool map maps it. */
export async function deleteAction(db: Db, suiteId: string, actionId: string): Promise<void> {
  const deleted = await withCatalogViolations({ entity: 'action' }, () => deleteActionRow(db, suiteId, actionId));
  if (!deleted) throw actionNotFound();
}
