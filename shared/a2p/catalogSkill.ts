import type { Kysely } from 'kysely';
import { McpServerListQuery } from '../catalog/mcpServerSchemas.js';
import { getMcpServer, listMcpServers } from '../catalog/mcpServerService.js';
import { ModelListQuery } from '../catalog/modelSchemas.js';
import { listModels } from '../catalog/modelService.js';
import { SuiteListQuery } from '../catalog/suiteSchemas.js';
import { getSuite, listSuites } from '../catalog/suiteService.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { validateInput } from '../validation/validateInput.js';
import { z } from '../openapi/zod.js';

/** What the catalog skill answers; `suite` comes with its actions and `mcp_server` with its tools. */
export const CATALOG_QUERIES = ['suites', 'suite', 'mcp_servers', 'mcp_server', 'models'] as const;
type CatalogQuery = (typeof CATALOG_QUERIES)[number];

const CatalogRequestSchema = z.object({
  skill: z.literal('catalog').optional(),
  query: z.enum(CATALOG_QUERIES),
  id: z.uuid().optional(),
  page: z.unknown().optional(),
  per_page: z.unknown().optional(),
  name: z.unknown().optional(),
});

const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** A question in words: the entity it names, and the id in it if any ("tools of MCP server <id>"). */
export function catalogRequestFromText(text: string): Record<string, unknown> {
  const id = UUID_IN_TEXT.exec(text)?.[0]?.toLowerCase();
  const lower = text.toLowerCase();
  let query: CatalogQuery = 'suites';
  if (/\bmodels?\b/.test(lower) && !/\b(tool|server|suite|action)s?\b/.test(lower)) query = 'models';
  else if (/\b(tools?|mcp|servers?)\b/.test(lower)) query = id ? 'mcp_server' : 'mcp_servers';
  else query = id ? 'suite' : 'suites';
  return { query, ...(id ? { id } : {}) };
}

/** Answers with what the REST API returns for the same question (GET /v1/suites, /v1/suites/{id}, ...). */
export async function answerCatalog(db: Kysely<Database>, request: Record<string, unknown>): Promise<unknown> {
  const { query, id, page, per_page, name } = validateInput(CatalogRequestSchema, request, 'body');
  const paging = { ...(page !== undefined ? { page } : {}), ...(per_page !== undefined ? { per_page } : {}) };
  const filter = { ...paging, ...(name !== undefined ? { name } : {}) };
  const needId = (): string => {
    if (id) return id;
    throw ApiError.badRequest(`The ${query} query needs an "id": the ${query === 'suite' ? 'suite' : 'MCP server'} id.`, {
      fields: [{ location: 'body', field: 'id', message: 'Required' }],
    });
  };
  switch (query) {
    case 'suites':
      return listSuites(db, validateInput(SuiteListQuery, filter, 'body'));
    case 'suite':
      return getSuite(db, needId());
    case 'mcp_servers':
      return listMcpServers(db, validateInput(McpServerListQuery, filter, 'body'));
    case 'mcp_server':
      return getMcpServer(db, needId());
    case 'models':
      return listModels(db, validateInput(ModelListQuery, paging, 'body'));
  }
}
