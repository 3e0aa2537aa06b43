import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../http/pagination.js';
import { withCatalogViolations } from './catalogViolations.js';
import type { ChildLike } from './parameterizedChildService.js';

/*
 * The service of a named parent with children (a suite with its actions, an MCP server with its tools): read with
 * every child, listed, created with its children in one transaction, renamed, deleted. suiteService and
 * mcpServerService configure it with their rows, messages and children.
 */

type Db = Kysely<Database>;

export interface ParentKind<C extends string, Row, Response, ChildResponse, CreateInput, UpdateInput, ChildInput> {
  /** The parent's name in violation contexts ("suite", "MCP server"). */
  entity: string;
  /** The field holding the children (`actions`). */
  children: C;
  notFound: () => ApiError;
  /** The parent's own fields, as the API gives them. */
  toResponse: (row: Row) => Response;
  find: (db: Db, id: string) => Promise<(Row & Record<C, ChildLike[]>) | undefined>;
  list: (
    db: Db,
    filters: { name?: string | undefined },
    pagination: Pagination,
  ) => Promise<{ rows: Row[]; total: number }>;
  insert: (db: Db, input: CreateInput) => Promise<string>;
  /** False if there is no such parent. */
  update: (db: Db, id: string, input: UpdateInput) => Promise<boolean>;
  remove: (db: Db, id: string) => Promise<boolean>;
  childToResponse: (row: ChildLike) => ChildResponse;
  /** Inserts a child with its parameters in the caller's transaction. */
  insertChild: (trx: Db, parentId: string, input: ChildInput) => Promise<string>;
}

export function parentWithChildrenService<
  C extends string,
  Row,
  Response,
  ChildResponse,
  CreateInput extends { name: string } & Record<C, ChildInput[]>,
  UpdateInput extends { name?: string | undefined },
  ChildInput,
>(kind: ParentKind<C, Row, Response, ChildResponse, CreateInput, UpdateInput, ChildInput>) {
  type WithChildren = Response & Record<C, ChildResponse[]>;
  const { entity, children } = kind;

  async function list(db: Db, filters: Pagination & { name?: string | undefined }): Promise<Page<Response>> {
    const page = await kind.list(db, { name: filters.name }, filters);
    return toPage(page.rows.map(kind.toResponse), page.total, filters);
  }

  async function get(db: Db, id: string): Promise<WithChildren> {
    const row = await kind.find(db, id);
    if (!row) throw kind.notFound();
    return { ...kind.toResponse(row), [children]: row[children].map(kind.childToResponse) } as WithChildren;
  }

  /** Creates the parent and the children given with it, in one transaction: all of it or nothing. */
  async function create(db: Db, input: CreateInput): Promise<WithChildren> {
    return db.transaction().execute(async (trx) => {
      const id = await withCatalogViolations({ entity, values: { field: 'name', name: input.name } }, () =>
        kind.insert(trx, input),
      );
      for (const child of input[children]) await kind.insertChild(trx, id, child);
      return get(trx, id);
    });
  }

  async function update(db: Db, id: string, input: UpdateInput): Promise<WithChildren> {
    const updated = await withCatalogViolations({ entity, values: { field: 'name', name: input.name } }, () =>
      kind.update(db, id, input),
    );
    if (!updated) throw kind.notFound();
    return get(db, id);
  }

  /**
   * Deletes the parent with its children. What refers to it without cascading (sessions, examples, action-tool
   * maps) makes the one DELETE statement fail (23503) and nothing is deleted: 409.
   */
  async function remove(db: Db, id: string): Promise<void> {
    const deleted = await withCatalogViolations({ entity }, () => kind.remove(db, id));
    if (!deleted) throw kind.notFound();
  }

  return { list, get, create, update, remove };
}
