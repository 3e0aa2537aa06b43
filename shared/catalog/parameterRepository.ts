import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ParameterInput } from './catalogFieldSchemas.js';
import type { ExistingParameter, ParameterUse } from './parameterReplacement.js';

/** Kysely<Database> or a transaction of it (Transaction extends Kysely). */
type Db = Kysely<Database>;

/*
 * The typed, ordered parameters of actions and of tools are stored alike, each in its own table; the writes below
 * serve both, given the owner. (Reads of parameters go with their action or tool: actionRepository, toolRepository.)
 */
export type ParameterOwner = 'action' | 'tool';

const TABLES = {
  action: { table: 'action_parameters', owner: 'action_parameters.action_id', ownerColumn: 'action_id' },
  tool: { table: 'tool_parameters', owner: 'tool_parameters.tool_id', ownerColumn: 'tool_id' },
} as const;

export async function insertParameters(
  db: Db,
  owner: ParameterOwner,
  ownerId: string,
  parameters: Array<{ position: number; parameter: ParameterInput }>,
): Promise<void> {
  if (parameters.length === 0) return;
  const t = TABLES[owner];
  await db
    .insertInto(t.table)
    .values(
      parameters.map(({ position, parameter }) => ({
        [t.ownerColumn]: ownerId,
        name: parameter.name,
        type: parameter.type,
        required: parameter.required,
        description: parameter.description ?? null,
        position,
      })),
    )
    .execute();
}

export async function updateParameter(
  db: Db,
  owner: ParameterOwner,
  parameterId: string,
  position: number,
  parameter: ParameterInput,
): Promise<void> {
  await db
    .updateTable(TABLES[owner].table)
    .set({ type: parameter.type, required: parameter.required, description: parameter.description ?? null, position })
    .where('id', '=', parameterId)
    .execute();
}

export async function deleteParameters(db: Db, owner: ParameterOwner, parameterIds: string[]): Promise<void> {
  if (parameterIds.length === 0) return;
  await db.deleteFrom(TABLES[owner].table).where('id', 'in', parameterIds).execute();
}

/** The owner's parameters, locked: a map being created meanwhile waits, then sees the new types. */
export function lockParameters(db: Db, owner: ParameterOwner, ownerId: string): Promise<ExistingParameter[]> {
  const t = TABLES[owner];
  return db.selectFrom(t.table).select(['id', 'name']).where(t.owner, '=', ownerId).forUpdate().execute();
}

/*
 * A parameter mapping joins an action parameter (`ap`) to a tool parameter (`tp`). Seen from an action, its own
 * side is `ap` and the counterpart `tp`; seen from a tool, the other way round.
 */
const SIDES = {
  action: { own: 'ap', other: 'tp', ownChild: 'ap.action_id' },
  tool: { own: 'tp', other: 'ap', ownChild: 'tp.tool_id' },
} as const;

/** Where action-tool maps use the owner's parameters, with the type of the parameter each is mapped to. */
export function findParameterUses(db: Db, owner: ParameterOwner, ownerId: string): Promise<ParameterUse[]> {
  const { own, other, ownChild } = SIDES[owner];
  return db
    .selectFrom('action_tool_parameter_mappings as pm')
    .innerJoin('action_parameters as ap', 'ap.id', 'pm.action_parameter_id')
    .innerJoin('tool_parameters as tp', 'tp.id', 'pm.tool_parameter_id')
    .innerJoin('action_tool_mappings as m', 'm.id', 'pm.action_tool_mapping_id')
    .select([
      `${own}.id as parameter_id`,
      'm.action_tool_map_id',
      `${other}.id as counterpart_parameter_id`,
      `${other}.type as counterpart_type`,
    ])
    .where(ownChild, '=', ownerId)
    .execute();
}
