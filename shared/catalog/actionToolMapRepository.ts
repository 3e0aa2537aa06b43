import type { Kysely } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Database } from '../db/schema.js';
import type { Pagination } from '../validation/pagination.js';
import type { MapFacts, MapIds } from './actionToolMapValidation.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

type Db = Kysely<Database>;

const MAP_COLUMNS = [
  'm.id',
  'm.suite_id',
  's.name as suite_name',
  'm.mcp_server_id',
  'srv.name as mcp_server_name',
  'm.name',
  'm.description',
  'm.created_at',
] as const;

function mapsWithNames(db: Db) {
  return db
    .selectFrom('action_tool_maps as m')
    .innerJoin('suites as s', 's.id', 'm.suite_id')
    .innerJoin('mcp_servers as srv', 'srv.id', 'm.mcp_server_id');
}

/** The map with its mappings and their parameter mappings, each with ids and names, in one round trip. */
export function findActionToolMapTree(db: Db, mapId: string) {
  return mapsWithNames(db)
    .select(MAP_COLUMNS)
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('action_tool_mappings as am')
          .innerJoin('actions as a', 'a.id', 'am.action_id')
          .innerJoin('tools as t', 't.id', 'am.tool_id')
          .select(['am.id', 'am.action_id', 'a.name as action_name', 'am.tool_id', 't.name as tool_name'])
          .select((inner) =>
            jsonArrayFrom(
              inner
                .selectFrom('action_tool_parameter_mappings as pm')
                .innerJoin('action_parameters as ap', 'ap.id', 'pm.action_parameter_id')
                .innerJoin('tool_parameters as tp', 'tp.id', 'pm.tool_parameter_id')
                .select([
                  'pm.id',
                  'pm.action_parameter_id',
                  'ap.name as action_parameter_name',
                  'pm.tool_parameter_id',
                  'tp.name as tool_parameter_name',
                  'ap.type',
                ])
                .whereRef('pm.action_tool_mapping_id', '=', 'am.id')
                .orderBy('ap.position')
                .orderBy('ap.name'),
            ).as('parameter_mappings'),
          )
          .whereRef('am.action_tool_map_id', '=', 'm.id')
          .orderBy('a.name'),
      ).as('mappings'),
    )
    .where('m.id', '=', mapId)
    .executeTakeFirst();
}

export type ActionToolMapTreeRow = NonNullable<Awaited<ReturnType<typeof findActionToolMapTree>>>;

export async function listActionToolMaps(
  db: Db,
  filters: { suite_id?: string | undefined; mcp_server_id?: string | undefined },
  pagination: Pagination,
) {
  let base = mapsWithNames(db);
  if (filters.suite_id !== undefined) base = base.where('m.suite_id', '=', filters.suite_id);
  if (filters.mcp_server_id !== undefined) base = base.where('m.mcp_server_id', '=', filters.mcp_server_id);
  return newestFirstPage(
    base,
    (query) =>
      query.select(MAP_COLUMNS).select((eb) =>
        eb
          .selectFrom('action_tool_mappings as am')
          .select((inner) => inner.fn.countAll<number>().as('n'))
          .whereRef('am.action_tool_map_id', '=', 'm.id')
          .as('mapping_count'),
      ),
    pagination,
    'm',
  );
}

/**
 * What the database knows about the ids a new map names. The rows are locked until the map is committed: actions
 * and tools against deletion (key share), parameters also against a change of type (share), so that what was
 * validated is still true when the mappings are written.
 */
export async function loadMapFacts(db: Db, ids: MapIds): Promise<MapFacts> {
  const actions =
    ids.actionIds.length === 0
      ? []
      : await db
          .selectFrom('actions')
          .select(['id', 'suite_id'])
          .where('id', 'in', ids.actionIds)
          .forKeyShare()
          .execute();
  const tools =
    ids.toolIds.length === 0
      ? []
      : await db
          .selectFrom('tools')
          .select(['id', 'mcp_server_id'])
          .where('id', 'in', ids.toolIds)
          .forKeyShare()
          .execute();
  const actionParameters =
    ids.actionParameterIds.length === 0
      ? []
      : await db
          .selectFrom('action_parameters')
          .select(['id', 'action_id', 'type'])
          .where('id', 'in', ids.actionParameterIds)
          .forShare()
          .execute();
  const toolParameters =
    ids.toolParameterIds.length === 0
      ? []
      : await db
          .selectFrom('tool_parameters')
          .select(['id', 'tool_id', 'type'])
          .where('id', 'in', ids.toolParameterIds)
          .forShare()
          .execute();
  return {
    actions: new Map(actions.map((row) => [row.id, row])),
    tools: new Map(tools.map((row) => [row.id, row])),
    actionParameters: new Map(actionParameters.map((row) => [row.id, row])),
    toolParameters: new Map(toolParameters.map((row) => [row.id, row])),
  };
}

export async function insertActionToolMap(
  db: Db,
  values: { suite_id: string; mcp_server_id: string; name: string | null; description: string | null },
): Promise<string> {
  const row = await db.insertInto('action_tool_maps').values(values).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Inserts the mappings; returns each one's id by its action id (unique within a map). */
export async function insertActionToolMappings(
  db: Db,
  mapId: string,
  mappings: Array<{ action_id: string; tool_id: string }>,
): Promise<Map<string, string>> {
  const rows = await db
    .insertInto('action_tool_mappings')
    .values(mappings.map((m) => ({ action_tool_map_id: mapId, action_id: m.action_id, tool_id: m.tool_id })))
    .returning(['id', 'action_id'])
    .execute();
  return new Map(rows.map((row) => [row.action_id, row.id]));
}

export async function insertActionToolParameterMappings(
  db: Db,
  rows: Array<{ action_tool_mapping_id: string; action_parameter_id: string; tool_parameter_id: string }>,
): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('action_tool_parameter_mappings').values(rows).execute();
}

export async function deleteActionToolMap(db: Db, mapId: string): Promise<boolean> {
  const result = await db.deleteFrom('action_tool_maps').where('id', '=', mapId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * The tools an action-tool map's actions are performed with (each once, however many actions map to it), with
 * their parameters in declared order, by tool name: the tool definitions of an example's training data.
 */
export async function findToolsOfMap(db: Db, mapId: string) {
  return db
    .selectFrom('tools as t')
    .select(['t.name', 't.description'])
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('tool_parameters as tp')
          .select(['tp.name', 'tp.type', 'tp.required', 'tp.description'])
          .whereRef('tp.tool_id', '=', 't.id')
          .orderBy('tp.position')
          .orderBy('tp.name'),
      ).as('parameters'),
    )
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('action_tool_mappings as am')
          .select('am.id')
          .whereRef('am.tool_id', '=', 't.id')
          .where('am.action_tool_map_id', '=', mapId),
      ),
    )
    .orderBy('t.name')
    .execute();
}

