import type { Kysely } from 'kysely';
import type { Database, ParameterType } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import type { ParameterInput } from './catalogFieldSchemas.js';
import { duplicateParameterError, duplicatesOf, withCatalogViolations } from './catalogViolations.js';
import {
  deleteParameters,
  findParameterUses,
  insertParameters,
  lockParameters,
  updateParameter,
  type ParameterOwner,
} from './parameterRepository.js';

/*
 * PATCH of an action or a tool replaces its parameter list. Parameters are matched by name: one that keeps its
 * name keeps its id (so action-tool maps that map it stay valid), one that is gone is deleted, a new name is
 * inserted. A parameter that a map uses may not disappear, nor change to a type that no longer matches the
 * parameter it is mapped to: that would leave a map that its own validation rules would refuse.
 */

/** These rules as the PATCH of an action and of a tool documents them. */
export const PARAMETER_REPLACEMENT_RULES =
  'Changes the name and/or description, and/or replaces the parameter list, in one transaction. Parameters are ' +
  'matched by name: one that keeps its name keeps its id. A parameter that an action-tool map uses may not be ' +
  'removed or change type (409). Needs `catalog:write`.';

export interface ExistingParameter {
  id: string;
  name: string;
}

/** A use of one of the owner's parameters in an action-tool map, with the type on the other side. */
export interface ParameterUse {
  parameter_id: string;
  action_tool_map_id: string;
  counterpart_parameter_id: string;
  counterpart_type: ParameterType;
}

export interface ParameterUseConflict {
  parameter_id: string;
  name: string;
  action_tool_map_id: string;
  reason: 'removed' | 'type_changed';
  /** For type_changed: the type the mapped counterpart has. */
  mapped_type?: ParameterType;
}

export interface ParameterReplacementPlan {
  deleteIds: string[];
  updates: Array<{ id: string; position: number; parameter: ParameterInput }>;
  inserts: Array<{ position: number; parameter: ParameterInput }>;
  duplicateNames: string[];
  conflicts: ParameterUseConflict[];
}

export function planParameterReplacement(
  existing: ExistingParameter[],
  wanted: ParameterInput[],
  uses: ParameterUse[],
): ParameterReplacementPlan {
  const duplicateNames = duplicatesOf(wanted.map((parameter) => parameter.name));
  const existingByName = new Map(existing.map((parameter) => [parameter.name, parameter]));
  const wantedByName = new Map(wanted.map((parameter) => [parameter.name, parameter]));
  const plan: ParameterReplacementPlan = { deleteIds: [], updates: [], inserts: [], duplicateNames, conflicts: [] };

  wanted.forEach((parameter, position) => {
    const current = existingByName.get(parameter.name);
    if (current) plan.updates.push({ id: current.id, position, parameter });
    else plan.inserts.push({ position, parameter });
  });
  const removed = existing.filter((parameter) => !wantedByName.has(parameter.name));
  plan.deleteIds = removed.map((parameter) => parameter.id);

  const existingById = new Map(existing.map((parameter) => [parameter.id, parameter]));
  for (const use of uses) {
    const current = existingById.get(use.parameter_id);
    if (!current) continue;
    const replacement = wantedByName.get(current.name);
    if (!replacement) {
      plan.conflicts.push({
        parameter_id: current.id,
        name: current.name,
        action_tool_map_id: use.action_tool_map_id,
        reason: 'removed',
      });
    } else if (replacement.type !== use.counterpart_type) {
      plan.conflicts.push({
        parameter_id: current.id,
        name: current.name,
        action_tool_map_id: use.action_tool_map_id,
        reason: 'type_changed',
        mapped_type: use.counterpart_type,
      });
    }
  }
  return plan;
}

export function mappedParameterConflict(owner: 'action' | 'tool', conflicts: ParameterUseConflict[]): ApiError {
  return ApiError.conflict(
    `Action-tool maps use parameters of this ${owner} that this change would remove or retype; ` +
      'delete those maps first, or keep the parameters with their types.',
    { field: 'parameters', mapped_parameters: conflicts },
  );
}

/**
 * Replaces the parameter list of an action or a tool in the caller's transaction, which has locked the owner:
 * the whole new list is checked first (duplicate names, parameters that maps use), then carried out.
 */
export async function replaceParameters(
  trx: Kysely<Database>,
  owner: ParameterOwner,
  ownerId: string,
  wanted: ParameterInput[],
): Promise<void> {
  const existing = await lockParameters(trx, owner, ownerId);
  const uses = await findParameterUses(trx, owner, ownerId);
  const plan = planParameterReplacement(existing, wanted, uses);
  if (plan.duplicateNames.length > 0) throw duplicateParameterError(owner, plan.duplicateNames);
  if (plan.conflicts.length > 0) throw mappedParameterConflict(owner, plan.conflicts);
  await withCatalogViolations({ entity: 'parameter' }, () => deleteParameters(trx, owner, plan.deleteIds));
  for (const change of plan.updates) {
    await updateParameter(trx, owner, change.id, change.position, change.parameter);
  }
  await insertParameters(trx, owner, ownerId, plan.inserts);
}
