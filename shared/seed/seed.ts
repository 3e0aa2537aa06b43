import type { Insertable, Kysely, Transaction } from 'kysely';
import { hashApiKeySecret, maskApiKeySecret } from '../auth/apiKeySecret.js';
import type { Database } from '../db/schema.js';
import { buildCatalogRows, type CatalogRows } from './catalogRows.js';
import {
  LOCAL_API_KEY_ID,
  LOCAL_API_KEY_NAME,
  LOCAL_API_KEY_SCOPES,
  LOCAL_USER_DISPLAY_NAME,
  LOCAL_USER_EMAIL,
  LOCAL_USER_ID,
} from './localDeveloper.js';

/*
 * The seed every fresh database gets: the catalog (catalog.ts), the local developer and its API key. Every row has
 * a fixed id and is inserted with ON CONFLICT (id) DO NOTHING, so a second run adds nothing and keeps whatever was
 * changed through the API since. The one row it overwrites is the local key, so that the key from the environment
 * always works. All in one transaction: a seed that fails leaves nothing behind. Two seeds at once are safe: they
 * insert the same rows in the same order, so the second waits on the first's row locks, then conflicts.
 */

export interface SeedOptions {
  /** The local developer's API key secret (TRACEPIPE_DEV_API_KEY). */
  localApiKey: string;
  /** The server secret that API key hashes are keyed with (API_KEY_HMAC_SECRET). */
  apiKeyHmacSecret: string;
}

export interface SeededRows {
  /** Rows this seed defines. */
  total: number;
  /** Of those, the ones this run inserted (the rest were there already). */
  inserted: number;
}

export interface SeedSummary {
  models: SeededRows;
  suites: SeededRows;
  actions: SeededRows;
  actionParameters: SeededRows;
  mcpServers: SeededRows;
  tools: SeededRows;
  toolParameters: SeededRows;
  actionToolMaps: SeededRows;
  actionToolMappings: SeededRows;
  actionToolParameterMappings: SeededRows;
  users: SeededRows;
  /** created: a new row; updated: its hash, prefix, scopes or revocation changed; unchanged: already as seeded. */
  localApiKey: 'created' | 'updated' | 'unchanged';
}

type SeededTable = Exclude<keyof Database, 'rate_limit_counters'>;

async function insertMissing<T extends SeededTable>(
  trx: Transaction<Database>,
  table: T,
  rows: ReadonlyArray<Insertable<Database[T]> & { id: string }>,
): Promise<SeededRows> {
  if (rows.length === 0) return { total: 0, inserted: 0 };
  // Kysely cannot type values() for a table given as a type parameter; the rows are already checked against
  // that table's Insertable type above, so the loose handle loses nothing.
  const untyped = trx as unknown as Transaction<Record<string, { id: string }>>;
  const result = await untyped
    .insertInto(table)
    .values(rows as unknown as { id: string }[])
    .onConflict((conflict) => conflict.column('id').doNothing())
    .executeTakeFirst();
  return { total: rows.length, inserted: Number(result.numInsertedOrUpdatedRows ?? 0n) };
}

async function seedCatalog(trx: Transaction<Database>, rows: CatalogRows) {
  // Parents before children, for the foreign keys.
  return {
    models: await insertMissing(trx, 'models', rows.models),
    suites: await insertMissing(trx, 'suites', rows.suites),
    actions: await insertMissing(trx, 'actions', rows.actions),
    actionParameters: await insertMissing(trx, 'action_parameters', rows.actionParameters),
    mcpServers: await insertMissing(trx, 'mcp_servers', rows.mcpServers),
    tools: await insertMissing(trx, 'tools', rows.tools),
    toolParameters: await insertMissing(trx, 'tool_parameters', rows.toolParameters),
    actionToolMaps: await insertMissing(trx, 'action_tool_maps', rows.actionToolMaps),
    actionToolMappings: await insertMissing(trx, 'action_tool_mappings', rows.actionToolMappings),
    actionToolParameterMappings: await insertMissing(
      trx,
      'action_tool_parameter_mappings',
      rows.actionToolParameterMappings,
    ),
  };
}

async function seedLocalApiKey(
  trx: Transaction<Database>,
  options: SeedOptions,
): Promise<SeedSummary['localApiKey']> {
  const keyHash = hashApiKeySecret(options.localApiKey, options.apiKeyHmacSecret);
  const prefix = maskApiKeySecret(options.localApiKey);
  const before = await trx
    .selectFrom('api_keys')
    .select(['key_hash', 'prefix', 'scopes', 'revoked_at'])
    .where('id', '=', LOCAL_API_KEY_ID)
    .forUpdate()
    .executeTakeFirst();
  await trx
    .insertInto('api_keys')
    .values({
      id: LOCAL_API_KEY_ID,
      user_id: LOCAL_USER_ID,
      name: LOCAL_API_KEY_NAME,
      prefix,
      key_hash: keyHash,
      scopes: LOCAL_API_KEY_SCOPES,
    })
    .onConflict((conflict) =>
      conflict.column('id').doUpdateSet({
        key_hash: keyHash,
        prefix,
        scopes: LOCAL_API_KEY_SCOPES,
        revoked_at: null,
      }),
    )
    .execute();
  if (!before) return 'created';
  const unchanged =
    before.key_hash === keyHash &&
    before.prefix === prefix &&
    before.revoked_at === null &&
    before.scopes.join(',') === LOCAL_API_KEY_SCOPES.join(',');
  return unchanged ? 'unchanged' : 'updated';
}

export async function seedDatabase(db: Kysely<Database>, options: SeedOptions): Promise<SeedSummary> {
  const rows = buildCatalogRows();
  return db.transaction().execute(async (trx) => {
    const catalog = await seedCatalog(trx, rows);
    const users = await insertMissing(trx, 'users', [
      {
        id: LOCAL_USER_ID,
        display_name: LOCAL_USER_DISPLAY_NAME,
        email: LOCAL_USER_EMAIL,
        scopes: LOCAL_API_KEY_SCOPES,
      },
    ]);
    const localApiKey = await seedLocalApiKey(trx, options);
    return { ...catalog, users, localApiKey };
  });
}

// The fixed ids, for tests and tools that start from the seeded rows.
export { LOCAL_API_KEY_ID, LOCAL_USER_ID } from './localDeveloper.js';
export {
  GITHUB_ACTION_TOOL_MAP_ID,
  GITHUB_MCP_SERVER_ID,
  GITHUB_SUITE_ID,
  GMAIL_ACTION_TOOL_MAP_ID,
  GMAIL_MCP_SERVER_ID,
  GMAIL_SUITE_ID,
  GOOGLE_CALENDAR_ACTION_TOOL_MAP_ID,
  GOOGLE_CALENDAR_MCP_SERVER_ID,
  GOOGLE_CALENDAR_SUITE_ID,
  SEED_MODEL_IDS,
} from './catalog.js';
export { seedActionId, seedToolId } from './catalogRows.js';
