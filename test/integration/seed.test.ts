import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKeySecret, maskApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import { createDatabase } from '../../shared/db/database.js';
import { migrateToLatest } from '../../shared/db/migrator.js';
import type { Database } from '../../shared/db/schema.js';
import {
  CATALOG_MODELS,
  CATALOG_SUITES,
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
  type CatalogSuite,
} from '../../shared/seed/catalog.js';
import { buildCatalogRows } from '../../shared/seed/catalogRows.js';
import { LOCAL_API_KEY_ID, LOCAL_USER_ID } from '../../shared/seed/localDeveloper.js';
import { seedDatabase } from '../../shared/seed/seed.js';
import { runSeedCommand } from '../../scripts/seed.js';
import { createTestDatabase, useTestDatabase, type TestDatabase } from '../support/database.js';


const SEEDED_TABLES = [
  'users',
  'api_keys',
  'models',
  'suites',
  'actions',
  'action_parameters',
  'mcp_servers',
  'tools',
  'tool_parameters',
  'action_tool_maps',
  'action_tool_mappings',
  'action_tool_parameter_mappings',
] as const;

const SEEDED_MAP_IDS = [GMAIL_ACTION_TOOL_MAP_ID, GOOGLE_CALENDAR_ACTION_TOOL_MAP_ID, GITHUB_ACTION_TOOL_MAP_ID];

const options = {
  localApiKey: 'tp_live_sk_seedtestkeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  apiKeyHmacSecret: 'seed-test-server-secret',
};

/** Every seeded table's ids, sorted: equal snapshots mean the same rows under the same ids. */
async function idsByTable(db: Kysely<Database>): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const table of SEEDED_TABLES) {
    const rows = await db.selectFrom(table).select('id').orderBy('id').execute();
    snapshot[table] = rows.map((row) => row.id);
  }
  return snapshot;
}

describe('the seed', () => {
  const database = useTestDatabase();
  let testDatabase: TestDatabase;
  let db: Kysely<Database>;
  beforeAll(() => {
    [testDatabase, db] = [database.testDatabase(), database.db()];
  });

  it('creates the models, the three suites with their MCP servers and maps, and the local developer', async () => {
    await seedDatabase(db, options);

    const models = await db.selectFrom('models').select(['id', 'provider', 'name']).orderBy('name').execute();
    expect(models.map((model) => `${model.provider}/${model.name}`).sort()).toEqual([
      'ANTHROPIC/claude-haiku-4-5',
      'ANTHROPIC/claude-sonnet-4-5',
      'OPENAI/gpt-4.1',
      'OPENAI/gpt-4o',
      'OPENAI/gpt-4o-mini',
    ]);
    expect(models.find((model) => model.name === 'gpt-4o')?.id).toBe(SEED_MODEL_IDS['openai/gpt-4o']);

    const suites = await db.selectFrom('suites').select(['id', 'name']).orderBy('name').execute();
    expect(suites).toEqual([
      { id: GITHUB_SUITE_ID, name: 'GitHub' },
      { id: GMAIL_SUITE_ID, name: 'Gmail' },
      { id: GOOGLE_CALENDAR_SUITE_ID, name: 'Google Calendar' },
    ]);
    const maps = await db.selectFrom('action_tool_maps').select(['id', 'suite_id', 'mcp_server_id']).execute();
    expect(maps).toEqual(
      expect.arrayContaining([
        { id: GMAIL_ACTION_TOOL_MAP_ID, suite_id: GMAIL_SUITE_ID, mcp_server_id: GMAIL_MCP_SERVER_ID },
        {
          id: GOOGLE_CALENDAR_ACTION_TOOL_MAP_ID,
          suite_id: GOOGLE_CALENDAR_SUITE_ID,
          mcp_server_id: GOOGLE_CALENDAR_MCP_SERVER_ID,
        },
        { id: GITHUB_ACTION_TOOL_MAP_ID, suite_id: GITHUB_SUITE_ID, mcp_server_id: GITHUB_MCP_SERVER_ID },
      ]),
    );
    const servers = await db.selectFrom('mcp_servers').select('name').orderBy('name').execute();
    expect(servers.map((server) => server.name)).toEqual(['github-mcp', 'gmail-mcp', 'google-calendar-mcp']);

    const actionCounts = await db
      .selectFrom('actions')
      .select(['suite_id', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('suite_id')
      .execute();
    expect(actionCounts).toHaveLength(3);
    for (const { count } of actionCounts) expect(count).toBeGreaterThanOrEqual(4);
    const composeEmail = await db
      .selectFrom('action_parameters')
      .innerJoin('actions', 'actions.id', 'action_parameters.action_id')
      .select(['action_parameters.name', 'action_parameters.type', 'action_parameters.required'])
      .where('actions.suite_id', '=', GMAIL_SUITE_ID)
      .where('actions.name', '=', 'compose_email')
      .orderBy('action_parameters.position')
      .execute();
    expect(composeEmail).toEqual([
      { name: 'to', type: 'STRING', required: true },
      { name: 'subject', type: 'STRING', required: true },
      { name: 'body', type: 'STRING', required: true },
      { name: 'cc', type: 'ARRAY', required: false },
    ]);

    const user = await db.selectFrom('users').selectAll().where('id', '=', LOCAL_USER_ID).executeTakeFirstOrThrow();
    expect(user).toMatchObject({ display_name: 'Local Developer', email: 'dev@localhost' });
    const key = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', LOCAL_API_KEY_ID)
      .executeTakeFirstOrThrow();
    expect(key).toMatchObject({
      user_id: LOCAL_USER_ID,
      name: 'local development key',
      scopes: ['api', 'catalog:write', 'pipeline'],
      key_hash: hashApiKeySecret(options.localApiKey, options.apiKeyHmacSecret),
      prefix: maskApiKeySecret(options.localApiKey),
      suite_ids: null,
      revoked_at: null,
    });
    expect(key.prefix).not.toContain(options.localApiKey.slice(15, 40));
  });

  it('is idempotent: a second run inserts nothing and keeps every row under the same id', async () => {
    await seedDatabase(db, options);
    const before = await idsByTable(db);

    const summary = await seedDatabase(db, options);

    expect(await idsByTable(db)).toEqual(before);
    const { localApiKey, ...tables } = summary;
    expect(localApiKey).toBe('unchanged');
    for (const [table, { total, inserted }] of Object.entries(tables)) {
      expect(inserted, table).toBe(0);
      expect(total, table).toBeGreaterThan(0);
    }
    expect(before.models).toHaveLength(CATALOG_MODELS.length);
    expect(before.action_parameters).toHaveLength(summary.actionParameters.total);
  });

  it('maps every seeded action, and every action parameter to a tool parameter of its type', async () => {
    await seedDatabase(db, options);

    const unmappedActions = await db
      .selectFrom('actions')
      .innerJoin('action_tool_maps', 'action_tool_maps.suite_id', 'actions.suite_id')
      .leftJoin('action_tool_mappings', (join) =>
        join
          .onRef('action_tool_mappings.action_id', '=', 'actions.id')
          .onRef('action_tool_mappings.action_tool_map_id', '=', 'action_tool_maps.id'),
      )
      .select(['actions.name'])
      .where('action_tool_maps.id', 'in', SEEDED_MAP_IDS)
      .where('action_tool_mappings.id', 'is', null)
      .execute();
    expect(unmappedActions).toEqual([]);

    const unmappedParameters = await db
      .selectFrom('action_tool_mappings')
      .innerJoin('action_parameters', 'action_parameters.action_id', 'action_tool_mappings.action_id')
      .leftJoin('action_tool_parameter_mappings', (join) =>
        join
          .onRef('action_tool_parameter_mappings.action_tool_mapping_id', '=', 'action_tool_mappings.id')
          .onRef('action_tool_parameter_mappings.action_parameter_id', '=', 'action_parameters.id'),
      )
      .select(['action_parameters.name'])
      .where('action_tool_mappings.action_tool_map_id', 'in', SEEDED_MAP_IDS)
      .where('action_tool_parameter_mappings.id', 'is', null)
      .execute();
    expect(unmappedParameters).toEqual([]);

    // Each parameter mapping joins a parameter of the mapping's action to one of the mapping's tool, of equal type;
    // each mapping joins an action of the map's suite to a tool of the map's server.
    const parameterMappings = await db
      .selectFrom('action_tool_parameter_mappings as pm')
      .innerJoin('action_tool_mappings as m', 'm.id', 'pm.action_tool_mapping_id')
      .innerJoin('action_tool_maps as map', 'map.id', 'm.action_tool_map_id')
      .innerJoin('actions as a', 'a.id', 'm.action_id')
      .innerJoin('tools as t', 't.id', 'm.tool_id')
      .innerJoin('action_parameters as ap', 'ap.id', 'pm.action_parameter_id')
      .innerJoin('tool_parameters as tp', 'tp.id', 'pm.tool_parameter_id')
      .select([
        'a.name as action',
        'ap.name as actionParameter',
        'tp.name as toolParameter',
        sql<boolean>`ap.type = tp.type`.as('sameType'),
        sql<boolean>`ap.action_id = a.id and tp.tool_id = t.id`.as('ownParameters'),
        sql<boolean>`a.suite_id = map.suite_id and t.mcp_server_id = map.mcp_server_id`.as('ownEnds'),
      ])
      .where('map.id', 'in', SEEDED_MAP_IDS)
      .execute();
    const actionParameterCount = CATALOG_SUITES.flatMap((suite) => suite.actions).flatMap((a) => a.parameters).length;
    expect(parameterMappings).toHaveLength(actionParameterCount);
    for (const mapping of parameterMappings) {
      expect(mapping, `${mapping.action}.${mapping.actionParameter}`).toMatchObject({
        sameType: true,
        ownParameters: true,
        ownEnds: true,
      });
    }
    expect(parameterMappings).toContainEqual(
      expect.objectContaining({ action: 'create_event', actionParameter: 'title', toolParameter: 'summary' }),
    );
  });

  it('replaces the key hash when the key secret changes, and un-revokes the key', async () => {
    await seedDatabase(db, options);
    await db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', LOCAL_API_KEY_ID).execute();
    const newSecret = 'tp_live_sk_rotatedkeyBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

    const summary = await seedDatabase(db, { ...options, localApiKey: newSecret });

    expect(summary.localApiKey).toBe('updated');
    const keys = await db.selectFrom('api_keys').select(['id', 'key_hash', 'prefix', 'revoked_at']).execute();
    expect(keys).toEqual([
      {
        id: LOCAL_API_KEY_ID,
        key_hash: hashApiKeySecret(newSecret, options.apiKeyHmacSecret),
        prefix: maskApiKeySecret(newSecret),
        revoked_at: null,
      },
    ]);

    expect((await seedDatabase(db, options)).localApiKey).toBe('updated');
    const restored = await db.selectFrom('api_keys').select('key_hash').executeTakeFirstOrThrow();
    expect(restored.key_hash).toBe(hashApiKeySecret(options.localApiKey, options.apiKeyHmacSecret));
  });

  it('leaves one copy of every row when two seeds run at once', async (context) => {
    if (testDatabase.kind === 'pglite') context.skip('PGlite serves one session: there is no second process to race');
    const other = createDatabase({ connectionString: testDatabase.url, poolMax: 1 });
    try {
      await Promise.all([seedDatabase(db, options), seedDatabase(other, options)]);
      const expected = buildCatalogRows();
      expect((await idsByTable(db)).action_tool_parameter_mappings).toHaveLength(
        expected.actionToolParameterMappings.length,
      );
      expect((await idsByTable(db)).api_keys).toEqual([LOCAL_API_KEY_ID]);
    } finally {
      await other.destroy();
    }
  });

  it('refuses a catalog that maps a parameter onto one of another type', () => {
    const [gmail] = CATALOG_SUITES as [CatalogSuite];
    const broken: CatalogSuite = {
      ...gmail,
      actions: [
        {
          name: 'search_emails',
          description: 'Search.',
          tool: 'search_emails',
          parameters: [{ name: 'max_results', type: 'STRING', required: false, description: 'Wrong type.' }],
        },
      ],
    };
    expect(() => buildCatalogRows([broken])).toThrow(
      /Gmail action search_emails: parameter max_results \(STRING\) needs a STRING parameter max_results/,
    );
  });
});

describe('the seed command', () => {
  let testDatabase: TestDatabase;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    const db = createDatabase({ connectionString: testDatabase.url, poolMax: 1 });
    try {
      await migrateToLatest(db);
    } finally {
      await db.destroy();
    }
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  function capture() {
    const lines = { log: [] as string[], error: [] as string[] };
    return { lines, out: { log: (l: string) => lines.log.push(l), error: (l: string) => lines.error.push(l) } };
  }

  it('exits 2 naming every missing setting', async () => {
    const { lines, out } = capture();
    expect(await runSeedCommand({ DATABASE_URL: testDatabase.url, TRACEPIPE_DEV_API_KEY: '' }, out)).toBe(2);
    expect(lines.error).toEqual(['missing settings: API_KEY_HMAC_SECRET, TRACEPIPE_DEV_API_KEY']);
  });

  it('seeds the database and prints what it added', async () => {
    // Each run opens and closes a pool of its own.
    const env = {
      DATABASE_URL: testDatabase.url,
      API_KEY_HMAC_SECRET: options.apiKeyHmacSecret,
      TRACEPIPE_DEV_API_KEY: options.localApiKey,
    };
    const first = capture();
    expect(await runSeedCommand(env, first.out)).toBe(0);
    expect(first.lines.log).toContain('suites: 3 (3 new)');
    expect(first.lines.log).toContain('local API key: created');

    const second = capture();
    expect(await runSeedCommand(env, second.out)).toBe(0);
    expect(second.lines.log).toContain('suites: 3 (0 new)');
    expect(second.lines.log).toContain('local API key: unchanged');
  });
});
