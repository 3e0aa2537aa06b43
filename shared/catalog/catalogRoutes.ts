import type { HttpResponseInit } from '@azure/functions';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { ANY_SCOPE } from '../auth/scopes.js';
import { getDb } from '../db/index.js';
import type { Database } from '../db/schema.js';
import type { ErrorCode } from '../errors/apiError.js';
import { defineRoute, type RouteResponseDoc } from '../http/defineRoute.js';
import { jsonResponse, noContent } from '../http/responses.js';

/*
 * The routes of a catalog resource: list and create on its collection path, get, update and delete on the item
 * path `{path}/{id}`. Resources differ only by names, documentation, schemas and the service they call; what they
 * share (methods, paths, API-key auth, reads for any key and the catalog:write scope of writes, statuses, the errors each operation can
 * give, the Location of what was created) is stated here once.
 */

type Db = Kysely<Database>;
type Params = z.ZodType | undefined;
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

interface OperationDoc {
  operationId: string;
  summary: string;
  description: string;
  /** Replaces the errors the operation documents by default. */
  errors?: ErrorCode[];
}

interface Operation<Input, Result> extends OperationDoc {
  response: RouteResponseDoc;
  run: (db: Db, input: Input) => Promise<Result>;
}

export interface CatalogRoutes<
  CP extends Params,
  IP extends z.ZodType,
  Q extends z.ZodType,
  CB extends z.ZodType,
  UB extends z.ZodType,
  Created extends { id: string },
> {
  tags: string[];
  /** `/v1/suites`, or for children `/v1/suites/{suite_id}/actions`. */
  path: string;
  /** The parameters of a child collection's path (its parent's id); none for a top-level collection. */
  collectionParams?: CP;
  /** The parameters of the item path. */
  itemParams: IP;
  list: Operation<{ params: Infer<CP>; query: Infer<Q> }, unknown> & { query: Q };
  create: Operation<{ params: Infer<CP>; body: Infer<CB> }, Created> & { body: CB };
  get: Operation<{ params: Infer<IP> }, unknown>;
  update?: Operation<{ params: Infer<IP>; body: Infer<UB> }, unknown> & { body: UB };
  delete?: OperationDoc & { run: (db: Db, input: { params: Infer<IP> }) => Promise<void> };
}

/** Where the created resource is: the path with its parameters read from the resource itself, then its id. */
function locationOf(path: string, created: { id: string }): string {
  const fields = created as unknown as Record<string, unknown>;
  return `${path.replace(/\{(\w+)\}/g, (_, name: string) => String(fields[name]))}/${created.id}`;
}

export function defineCatalogRoutes<
  CP extends Params,
  IP extends z.ZodType,
  Q extends z.ZodType,
  CB extends z.ZodType,
  UB extends z.ZodType,
  Created extends { id: string },
>(resource: CatalogRoutes<CP, IP, Q, CB, UB, Created>): void {
  const { tags, path, collectionParams, itemParams, list, create, get, update } = resource;
  const remove = resource.delete;
  const itemPath = `${path}/{id}`;
  // Below a parent, the parent itself may be missing.
  const child = collectionParams !== undefined;
  const ok = (body: unknown): HttpResponseInit => jsonResponse(200, body);

  defineRoute({
    operationId: list.operationId,
    method: 'GET',
    path,
    tags,
    summary: list.summary,
    description: list.description,
    auth: 'apiKey',
    scope: ANY_SCOPE,
    params: collectionParams,
    query: list.query,
    responses: { 200: list.response },
    errors: list.errors ?? (child ? ['not_found'] : undefined),
    handler: async ({ params, query }) => ok(await list.run(getDb(), { params, query })),
  });

  defineRoute({
    operationId: create.operationId,
    method: 'POST',
    path,
    tags,
    summary: create.summary,
    description: create.description,
    auth: 'apiKey',
    scope: 'catalog:write',
    params: collectionParams,
    body: create.body,
    responses: { 201: create.response },
    errors: create.errors ?? (child ? ['not_found', 'conflict'] : ['conflict']),
    handler: async ({ params, body }) => {
      const created = await create.run(getDb(), { params, body });
      return jsonResponse(201, created, { Location: locationOf(path, created) });
    },
  });

  defineRoute({
    operationId: get.operationId,
    method: 'GET',
    path: itemPath,
    tags,
    summary: get.summary,
    description: get.description,
    auth: 'apiKey',
    scope: ANY_SCOPE,
    params: itemParams,
    responses: { 200: get.response },
    errors: get.errors ?? ['not_found'],
    handler: async ({ params }) => ok(await get.run(getDb(), { params })),
  });

  if (update) {
    defineRoute({
      operationId: update.operationId,
      method: 'PATCH',
      path: itemPath,
      tags,
      summary: update.summary,
      description: update.description,
      auth: 'apiKey',
      scope: 'catalog:write',
      params: itemParams,
      body: update.body,
      responses: { 200: update.response },
      errors: update.errors ?? ['not_found', 'conflict'],
      handler: async ({ params, body }) => ok(await update.run(getDb(), { params, body })),
    });
  }

  if (remove) {
    defineRoute({
      operationId: remove.operationId,
      method: 'DELETE',
      path: itemPath,
      tags,
      summary: remove.summary,
      description: remove.description,
      auth: 'apiKey',
      scope: 'catalog:write',
      params: itemParams,
      responses: { 204: { description: 'Deleted.' } },
      errors: remove.errors ?? ['not_found', 'conflict'],
      handler: async ({ params }) => {
        await remove.run(getDb(), { params });
        return noContent();
      },
    });
  }
}

/** The PATCH of a parameterized child (an action, a tool): the same rules for both. */
export const CHILD_UPDATE_DESCRIPTION =
  'Changes the name and/or description, and/or replaces the parameter list, in one transaction. Parameters are ' +
  'matched by name: one that keeps its name keeps its id. A parameter that an action-tool map uses may not be ' +
  'removed or change type (409). Needs `catalog:write`.';
