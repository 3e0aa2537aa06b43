import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page } from '../validation/pagination.js';
import {
  deleteActionToolMap as deleteActionToolMapRow,
  findActionToolMapTree,
  insertActionToolMap,
  insertActionToolMappings,
  insertActionToolParameterMappings,
  listActionToolMaps as listActionToolMapRows,
  loadMapFacts,
  type ActionToolMapTreeRow,
} from './actionToolMapRepository.js';
import type {
  ActionToolMapListFilters,
  ActionToolMapResponse,
  ActionToolMapSummaryResponse,
  CreateActionToolMapInput,
} from './actionToolMapSchemas.js';
import { findMapViolations, idsNamedBy, type MapViolation } from './actionToolMapValidation.js';
import { withCatalogViolations } from './catalogViolations.js';
import { isoTimestamp } from './isoTimestamp.js';
import { mcpServerExistsLocked } from './mcpServerRepository.js';
import { suiteExistsLocked } from './suiteRepository.js';

type Db = Kysely<Database>;

type MapRowFields = Omit<ActionToolMapTreeRow, 'mappings'>;

function mapFields(row: MapRowFields): Omit<ActionToolMapResponse, 'mappings'> {
  return {
    id: row.id,
    suite_id: row.suite_id,
    suite_name: row.suite_name,
    mcp_server_id: row.mcp_server_id,
    mcp_server_name: row.mcp_server_name,
    name: row.name,
    description: row.description,
    created_at: isoTimestamp(row.created_at),
  };
}

function toActionToolMapResponse(row: ActionToolMapTreeRow): ActionToolMapResponse {
  return {
    ...mapFields(row),
    mappings: row.mappings.map((mapping) => ({
      id: mapping.id,
      action_id: mapping.action_id,
      action_name: mapping.action_name,
      tool_id: mapping.tool_id,
      tool_name: mapping.tool_name,
      parameter_mappings: mapping.parameter_mappings.map((pm) => ({
        id: pm.id,
        action_parameter_id: pm.action_parameter_id,
        action_parameter_name: pm.action_parameter_name,
        tool_parameter_id: pm.tool_parameter_id,
        tool_parameter_name: pm.tool_parameter_name,
        type: pm.type,
      })),
    })),
  };
}

export async function listActionToolMaps(
  db: Db,
  filters: ActionToolMapListFilters,
): Promise<Page<ActionToolMapSummaryResponse>> {
  const page = await listActionToolMapRows(
    db,
    { suite_id: filters.suite_id, mcp_server_id: filters.mcp_server_id },
    filters,
  );
  const items = page.rows.map((row) => ({ ...mapFields(row), mapping_count: Number(row.mapping_count ?? 0) }));
  return toPage(items, page.total, filters);
}

export async function getActionToolMap(db: Db, mapId: string): Promise<ActionToolMapResponse> {
  const row = await findActionToolMapTree(db, mapId);
  if (!row) throw ApiError.notFound('No action-tool map with this id.');
  return toActionToolMapResponse(row);
}

function invalidMap(violations: MapViolation[]): ApiError {
  return ApiError.validation(
    `The action-tool map breaks ${violations.length} rule(s); details.violations names each with its ids.`,
    {
      fields: violations.map((violation) => ({ location: 'body', field: violation.field, message: violation.message })),
      violations,
    },
  );
}

/**
 * Creates a map with its mappings and parameter mappings, checked as a whole (actionToolMapValidation.ts) and
 * written in one transaction. The rows the checks read stay locked until the commit.
 */
export async function createActionToolMap(db: Db, input: CreateActionToolMapInput): Promise<ActionToolMapResponse> {
  return db.transaction().execute(async (trx) => {
    const missing: Array<{ location: string; field: string; message: string }> = [];
    if (!(await suiteExistsLocked(trx, input.suite_id))) {
      missing.push({ location: 'body', field: 'suite_id', message: `No suite ${input.suite_id}.` });
    }
    if (!(await mcpServerExistsLocked(trx, input.mcp_server_id))) {
      missing.push({ location: 'body', field: 'mcp_server_id', message: `No MCP server ${input.mcp_server_id}.` });
    }
    if (missing.length > 0) throw ApiError.validation('The suite or MCP server does not exist.', { fields: missing });

    const facts = await loadMapFacts(trx, idsNamedBy(input));
    const violations = findMapViolations(input, facts);
    if (violations.length > 0) throw invalidMap(violations);

    return withCatalogViolations({ entity: 'action-tool map' }, async () => {
      const mapId = await insertActionToolMap(trx, {
        suite_id: input.suite_id,
        mcp_server_id: input.mcp_server_id,
        name: input.name ?? null,
        description: input.description ?? null,
      });
      const mappingIds = await insertActionToolMappings(trx, mapId, input.mappings);
      await insertActionToolParameterMappings(
        trx,
        input.mappings.flatMap((mapping) =>
          mapping.parameter_mappings.map((pm) => ({
            // Every action is mapped once (checked above), so its id finds its mapping.
            action_tool_mapping_id: mappingIds.get(mapping.action_id) as string,
            action_parameter_id: pm.action_parameter_id,
            tool_parameter_id: pm.tool_parameter_id,
          })),
        ),
      );
      return getActionToolMap(trx, mapId);
    });
  });
}

/** Deletes a map with its mappings; 409, deleting nothing, while examples were generated with it. */
export async function deleteActionToolMap(db: Db, mapId: string): Promise<void> {
  const deleted = await withCatalogViolations({ entity: 'action-tool map' }, () => deleteActionToolMapRow(db, mapId));
  if (!deleted) throw ApiError.notFound('No action-tool map with this id.');
}
