import type { Kysely } from 'kysely';
import type { Database, ModelProvider } from '../db/schema.js';
import type { Pagination } from '../validation/pagination.js';
import { newestFirstPage } from '../db/newestFirstPage.js';

type Db = Kysely<Database>;

const MODEL_COLUMNS = ['id', 'provider', 'name', 'display_name', 'created_at'] as const;

export function findModel(db: Db, modelId: string) {
  return db.selectFrom('models').select(MODEL_COLUMNS).where('id', '=', modelId).executeTakeFirst();
}

export type ModelRow = NonNullable<Awaited<ReturnType<typeof findModel>>>;

export async function listModels(db: Db, filters: { provider?: ModelProvider | undefined }, pagination: Pagination) {
  let base = db.selectFrom('models');
  if (filters.provider !== undefined) base = base.where('provider', '=', filters.provider);
  return newestFirstPage(base, (query) => query.select(MODEL_COLUMNS), pagination);
}

export function insertModel(
  db: Db,
  values: { provider: ModelProvider; name: string; display_name: string | null },
): Promise<ModelRow> {
  return db.insertInto('models').values(values).returning(MODEL_COLUMNS).executeTakeFirstOrThrow();
}
