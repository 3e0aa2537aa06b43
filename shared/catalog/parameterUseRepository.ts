import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ParameterUse } from './parameterReplacement.js';

/** Kysely<Database> or a transaction of it (Transaction extends Kysely). */
type Db = Kysely<Database>;

/*
 * A parameter mapping joins an action parameter (`ap`) to a tool parameter (`tp`). Seen from an action, its own
 * side is `ap` and the counterpart `tp`; seen from a tool, the other way round.
 */
const SIDES = {
  action: { own: 'ap', other: 'tp', ownChild: 'ap.action_id' },
  tool: { own: 'tp', other: 'ap', ownChild: 'tp.tool_id' },
} as const;

/** Where action-tool maps use the child's parameters, with the type of the parameter each is mapped to. */
export function findParameterUses(db: Db, child: 'action' | 'tool', childId: string): Promise<ParameterUse[]> {
  const { own, other, ownChild } = SIDES[child];
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
    .where(ownChild, '=', childId)
    .execute();
}
