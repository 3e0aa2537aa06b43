import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page } from '../validation/pagination.js';
import { withCatalogViolations } from './catalogViolations.js';
import { findModel, insertModel, listModels as listModelRows, type ModelRow } from './modelRepository.js';
import type { CreateModelInput, ModelListFilters, ModelResponse } from './modelSchemas.js';

type Db = Kysely<Database>;

/** The name usage reports give a model: `openai/gpt-4o` (CONTRACT.md, Entities). */
export function modelUsageName(model: { provider: string; name: string }): string {
  return `${model.provider}/${model.name}`.toLowerCase();
}

function toModelResponse(row: ModelRow): ModelResponse {
  return {
    id: row.id,
    provider: row.provider,
    name: row.name,
    display_name: row.display_name,
    usage_name: modelUsageName(row),
    created_at: row.created_at.toISOString(),
  };
}

export async function listModels(db: Db, filters: ModelListFilters): Promise<Page<ModelResponse>> {
  const page = await listModelRows(db, { provider: filters.provider }, filters);
  return toPage(page.rows.map(toModelResponse), page.total, filters);
}

export async function getModel(db: Db, modelId: string): Promise<ModelResponse> {
  const row = await findModel(db, modelId);
  if (!row) throw ApiError.notFound('No model with this id.');
  return toModelResponse(row);
}

export async function createModel(db: Db, input: CreateModelInput): Promise<ModelResponse> {
  const row = await withCatalogViolations(
    { entity: 'model', values: { field: 'name', provider: input.provider, name: input.name } },
    () => insertModel(db, { provider: input.provider, name: input.name, display_name: input.display_name ?? null }),
  );
  return toModelResponse(row);
}
