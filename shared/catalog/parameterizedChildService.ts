import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../http/pagination.js';
import type { ParameterInput, ParameterResponse } from './catalogFieldSchemas.js';
import { duplicateParameterError, withCatalogViolations } from './catalogViolations.js';
import { isoTimestamp } from './isoTimestamp.js';
import { mappedParameterConflict, planParameterReplacement, type ParameterUse } from './parameterReplacement.js';
import {
  deleteChild,
  deleteChildParameters,
  findChild,
  insertChild,
  insertChildParameters,
  listChildren,
  lockChild,
  lockChildParameters,
  updateChild,
  updateChildParameter,
  type ChildRow,
  type ChildTables,
} from './parameterizedChildRepository.js';

/*
 * The service of a parameterized child (an action of a suite, a tool of an MCP server): a named child of a parent
 * with an ordered list of typed parameters, created with them in one transaction, renamed and its parameter list
 * replaced by PATCH. actionService and toolService configure it; only names, messages and lookups differ.
 */

type Db = Kysely<Database>;

/** Rows read directly carry Dates; rows nested through jsonArrayFrom carry timestamp strings. */
export type ChildLike = Omit<ChildRow, 'created_at' | 'updated_at'> & {
  created_at: Date | string;
  updated_at: Date | string;
};

export interface ChildKind {
  tables: ChildTables;
  /** The child's name in error messages and violation contexts. */
  entity: 'action' | 'tool';
  /** The response field that holds the parent id (`suite_id`, `mcp_server_id`). */
  parentField: string;
  parentNotFound: () => ApiError;
  childNotFound: () => ApiError;
  parentExists: (db: Db, parentId: string) => Promise<boolean>;
  /** Key-share locks the parent, so that it cannot be deleted before the child is committed. */
  parentExistsLocked: (db: Db, parentId: string) => Promise<boolean>;
  /** Where action-tool maps use the child's parameters, to refuse a PATCH that would break them. */
  findParameterUses: (db: Db, childId: string) => Promise<ParameterUse[]>;
}

interface CreateChildInput {
  name: string;
  description?: string | null | undefined;
  parameters: ParameterInput[];
}

interface UpdateChildInput {
  name?: string | undefined;
  description?: string | null | undefined;
  parameters?: ParameterInput[] | undefined;
}

export function parameterizedChildService<R, C extends CreateChildInput, U extends UpdateChildInput>(kind: ChildKind) {
  const { tables, entity } = kind;

  function toResponse(row: ChildLike): R {
    // Built field by field (the parent key second) so that responses keep their documented field order.
    return {
      id: row.id,
      [kind.parentField]: row.parent_id,
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
    } as R;
  }

  async function list(db: Db, parentId: string, pagination: Pagination): Promise<Page<R>> {
    const [exists, page] = await Promise.all([
      kind.parentExists(db, parentId),
      listChildren(db, tables, parentId, pagination),
    ]);
    if (!exists) throw kind.parentNotFound();
    return toPage(page.rows.map(toResponse), page.total, pagination);
  }

  async function get(db: Db, parentId: string, childId: string): Promise<R> {
    const row = await findChild(db, tables, parentId, childId);
    if (!row) throw kind.childNotFound();
    return toResponse(row);
  }

  /**
   * Inserts a child with its parameters inside the caller's transaction (also used when a parent is created with
   * its children). A duplicate child name or parameter name fails the whole transaction with a 409.
   */
  async function insertWithParameters(trx: Db, parentId: string, input: C): Promise<string> {
    const childId = await withCatalogViolations({ entity, values: { field: 'name', name: input.name } }, () =>
      insertChild(trx, tables, { parent_id: parentId, name: input.name, description: input.description ?? null }),
    );
    await withCatalogViolations({ entity, parameterNames: input.parameters.map((p) => p.name) }, () =>
      insertChildParameters(
        trx,
        tables,
        childId,
        input.parameters.map((parameter, position) => ({ position, parameter })),
      ),
    );
    return childId;
  }

  async function create(db: Db, parentId: string, input: C): Promise<R> {
    return db.transaction().execute(async (trx) => {
      if (!(await kind.parentExistsLocked(trx, parentId))) throw kind.parentNotFound();
      const childId = await insertWithParameters(trx, parentId, input);
      return get(trx, parentId, childId);
    });
  }

  /** Renames and/or replaces the parameter list of a child, all in one transaction. */
  async function update(db: Db, parentId: string, childId: string, input: U): Promise<R> {
    return db.transaction().execute(async (trx) => {
      if (!(await lockChild(trx, tables, parentId, childId))) throw kind.childNotFound();
      if (input.parameters) {
        const existing = await lockChildParameters(trx, tables, childId);
        const uses = await kind.findParameterUses(trx, childId);
        const plan = planParameterReplacement(existing, input.parameters, uses);
        if (plan.duplicateNames.length > 0) throw duplicateParameterError(entity, plan.duplicateNames);
        if (plan.conflicts.length > 0) throw mappedParameterConflict(entity, plan.conflicts);
        await withCatalogViolations({ entity: 'parameter' }, () => deleteChildParameters(trx, tables, plan.deleteIds));
        for (const change of plan.updates) {
          await updateChildParameter(trx, tables, change.id, change.position, change.parameter);
        }
        await insertChildParameters(trx, tables, childId, plan.inserts);
      }
      // The rename comes last: if the new name is taken, the parameter changes above roll back with it.
      await withCatalogViolations({ entity, values: { field: 'name', name: input.name } }, () =>
        updateChild(trx, tables, childId, { name: input.name, description: input.description }),
      );
      return get(trx, parentId, childId);
    });
  }

  async function remove(db: Db, parentId: string, childId: string): Promise<void> {
    const deleted = await withCatalogViolations({ entity }, () => deleteChild(db, tables, parentId, childId));
    if (!deleted) throw kind.childNotFound();
  }

  return { toResponse, list, get, insertWithParameters, create, update, remove };
}
