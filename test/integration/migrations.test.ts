import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../../shared/db/database.js';
import {
  MigrationError,
  NO_MIGRATIONS,
  migrateDown,
  migrateTo,
  migrateToLatest,
  migrationNames,
  migrationStatus,
} from '../../shared/db/migrator.js';
import {
  API_KEY_SCOPES,
  EXAMPLE_STATUSES,
  INVOICE_STATUSES,
  MODEL_PROVIDERS,
  PARAMETER_TYPES,
  SESSION_STATUSES,
  type Database,
  type SessionUpdate,
} from '../../shared/db/schema.js';
import { runMigrateCommand } from '../../scripts/migrate.js';
import { createTestDatabase, useTestDatabase, type TestDatabase } from '../support/database.js';


const ALL_MIGRATIONS = [
  '0001_initial',
  '0002_catalog',
  '0003_sessions_and_examples',
  '0004_usage_and_billing',
  '0005_billing_metering',
  '0006_a2p',
  '0007_real_recordings',
  '0008_datasets',
  '0009_billing_trust',
  '0010_data_lifecycle',
  '0011_webhooks_budgets',
  '0013_key_suites_non_empty',
  '0014_a2p_push_notifications',
  '0015_usage_sync_lists',
  '0016_carried_token_state',
  '0017_stored_objects_by_user',
];
const LATEST = ALL_MIGRATIONS[ALL_MIGRATIONS.length - 1] as string;
const BEFORE_LATEST = ALL_MIGRATIONS[ALL_MIGRATIONS.length - 2] as string;

const TABLES_BY_MIGRATION: Record<string, string[]> = {
  '0001_initial': ['api_keys', 'rate_limit_counters', 'users'],
  '0002_catalog': [
    'action_parameters',
    'action_tool_mappings',
    'action_tool_maps',
    'action_tool_parameter_mappings',
    'actions',
    'mcp_servers',
    'models',
    'suites',
    'tool_parameters',
    'tools',
  ],
  '0003_sessions_and_examples': ['example_job_outbox', 'examples', 'sessions'],
  '0004_usage_and_billing': ['invoices', 'storage_samples', 'stripe_webhook_events', 'token_usage'],
  '0005_billing_metering': ['example_storage_totals', 'stripe_sync_runs', 'token_usage_daily'],
  '0006_a2p': ['a2p_requests', 'a2p_tasks'],
  '0007_real_recordings': [],
  '0008_datasets': ['dataset_examples', 'datasets'],
  '0009_billing_trust': [
    'billing_period_closes',
    'billing_subscriptions',
    'storage_listings',
    'storage_sampler_state',
    'stored_objects',
    'stripe_meter_error_reports',
    'stripe_price_meters',
  ],
  '0010_data_lifecycle': ['storage_sample_rollups', 'user_erasures', 'user_settings'],
  '0011_webhooks_budgets': ['budget_threshold_emissions', 'budgets', 'webhook_deliveries', 'webhook_endpoints', 'webhook_events'],
  '0013_key_suites_non_empty': [],
  '0014_a2p_push_notifications': [],
  '0015_usage_sync_lists': ['storage_samples_carried', 'storage_samples_unsent', 'token_usage_carried', 'token_usage_unsent'],
  '0016_carried_token_state': [],
  '0017_stored_objects_by_user': [],
};

/** Tables a later migration drops (0009 replaces example_storage_totals with the storage ledger). */
const DROPPED_BY_MIGRATION: Record<string, string[]> = {
  '0009_billing_trust': ['example_storage_totals'],
};

const ENUM_TYPES: Record<string, readonly string[]> = {
  parameter_type: PARAMETER_TYPES,
  model_provider: MODEL_PROVIDERS,
  session_status: SESSION_STATUSES,
  example_status: EXAMPLE_STATUSES,
  invoice_status: INVOICE_STATUSES,
};

function tablesUpTo(lastMigration: string): string[] {
  const applied = ALL_MIGRATIONS.slice(0, ALL_MIGRATIONS.indexOf(lastMigration) + 1);
  const dropped = new Set(applied.flatMap((name) => DROPPED_BY_MIGRATION[name] ?? []));
  return applied
    .flatMap((name) => TABLES_BY_MIGRATION[name] ?? [])
    .filter((table) => !dropped.has(table))
    .sort();
}

/** The application's tables (Kysely's own bookkeeping tables left out). */
async function tableNames(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%'
    order by table_name`.execute(db);
  return rows.map((row) => row.table_name);
}

async function enumLabels(db: Kysely<Database>): Promise<Record<string, string[]>> {
  const { rows } = await sql<{ type_name: string; label: string }>`
    select t.typname as type_name, e.enumlabel as label
    from pg_type t
    join pg_enum e on e.enumtypid = t.oid
    join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = 'public'
    order by t.typname, e.enumsortorder`.execute(db);
  const labels: Record<string, string[]> = {};
  for (const { type_name, label } of rows) (labels[type_name] ??= []).push(label);
  return labels;
}

async function functionExists(db: Kysely<Database>, name: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    select exists (
      select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and p.proname = ${name}
    ) as found`.execute(db);
  return rows[0]?.found === true;
}

/** What PostgreSQL said when the statement failed (SQLSTATE and constraint), or null if it succeeded. */
async function violationOf(statement: Promise<unknown>): Promise<{ code: string; constraint?: string } | null> {
  try {
    await statement;
  } catch (error) {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (!code) throw error;
    return constraint ? { code, constraint } : { code };
  }
  return null;
}

function captureOutput() {
  const lines = { log: [] as string[], error: [] as string[] };
  return {
    lines,
    out: { log: (line: string) => lines.log.push(line), error: (line: string) => lines.error.push(line) },
  };
}

describe('migrations, up and down', () => {
  const database = useTestDatabase({ migrated: false });
  let db: Kysely<Database>;
  beforeAll(() => {
    db = database.db();
  });

  // Every test starts from an empty schema, whatever the previous one left.
  beforeEach(async () => {
    await migrateTo(db, NO_MIGRATIONS);
  });

  it('knows every migration, in order', () => {
    expect(migrationNames()).toEqual(ALL_MIGRATIONS);
  });

  it('applies every migration in order, creating every table and enum type, and then has nothing to do', async () => {
    expect(await migrationStatus(db)).toEqual(ALL_MIGRATIONS.map((name) => ({ name, executedAt: null })));

    expect(await migrateToLatest(db)).toEqual(ALL_MIGRATIONS);

    expect(await tableNames(db)).toEqual(tablesUpTo(LATEST));
    const labels = await enumLabels(db);
    for (const [type, expected] of Object.entries(ENUM_TYPES)) expect(labels[type], type).toEqual([...expected]);
    expect(Object.keys(labels).sort()).toEqual(Object.keys(ENUM_TYPES).sort());
    const status = await migrationStatus(db);
    expect(status.map((migration) => migration.name)).toEqual(ALL_MIGRATIONS);
    for (const migration of status) expect(migration.executedAt, migration.name).toBeInstanceOf(Date);

    expect(await migrateToLatest(db)).toEqual([]);
  });

  it('undoes the last migration with migrateDown, and moves to a named migration with migrateTo', async () => {
    await migrateToLatest(db);

    expect(await migrateDown(db)).toEqual([LATEST]);
    expect(await tableNames(db)).toEqual(tablesUpTo(BEFORE_LATEST));
    expect((await migrationStatus(db)).map((migration) => migration.executedAt !== null)).toEqual(
      ALL_MIGRATIONS.map((name) => name !== LATEST),
    );

    expect(await migrateTo(db, '0001_initial')).toEqual(ALL_MIGRATIONS.slice(1, -1).reverse());
    expect(await tableNames(db)).toEqual(tablesUpTo('0001_initial'));
    expect(Object.keys(await enumLabels(db))).toEqual([]);

    expect(await migrateTo(db, '0003_sessions_and_examples')).toEqual(['0002_catalog', '0003_sessions_and_examples']);
    expect(await tableNames(db)).toEqual(tablesUpTo('0003_sessions_and_examples'));
  });

  it('undoes everything, leaving no table, type or function behind, and applies it all again', async () => {
    await migrateToLatest(db);

    expect(await migrateTo(db, NO_MIGRATIONS)).toEqual([...ALL_MIGRATIONS].reverse());
    expect(await tableNames(db)).toEqual([]);
    expect(await enumLabels(db)).toEqual({});
    expect(await functionExists(db, 'set_updated_at')).toBe(false);
    expect(await migrateDown(db)).toEqual([]);

    expect(await migrateToLatest(db)).toEqual(ALL_MIGRATIONS);
    expect(await tableNames(db)).toEqual(tablesUpTo(LATEST));
    expect(await functionExists(db, 'set_updated_at')).toBe(true);
  });

  it('names the migration that failed and why, and applies nothing of that run', async () => {
    await sql`create table suites (id int)`.execute(db);
    try {
      const failure = await migrateToLatest(db).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(MigrationError);
      expect((failure as MigrationError).migrationName).toBe('0002_catalog');
      expect((failure as MigrationError).message).toMatch(/^migration 0002_catalog failed \(up\): .*"suites"/);
      // 0001 ran in the same transaction, so it was rolled back too.
      expect((await migrationStatus(db)).every((migration) => migration.executedAt === null)).toBe(true);
      expect(await tableNames(db)).toEqual(['suites']);
    } finally {
      await sql`drop table suites`.execute(db);
    }
  });

  it('revokes an API key limited to an empty suite list, keeping it limited to no suite, before checking the lists', async () => {
    await migrateTo(db, '0010_data_lifecycle');
    const { rows } = await sql<{ id: string }>`
      with u as (insert into users (display_name) values ('empty key owner') returning id)
      insert into api_keys (user_id, prefix, key_hash, suite_ids)
      select id, 'p', ${'c'.repeat(64)}, '{}'::uuid[] from u returning api_keys.id`.execute(db);

    await migrateToLatest(db);
    const key = await db
      .selectFrom('api_keys')
      .select(['suite_ids', 'revoked_at'])
      .where('id', '=', rows[0]!.id)
      .executeTakeFirstOrThrow();
    expect(key.suite_ids).toEqual(['00000000-0000-0000-0000-000000000000']);
    expect(key.revoked_at).toBeInstanceOf(Date);
  });

  it('refuses a migration name it does not know', async () => {
    await expect(migrateTo(db, '0009_nothing')).rejects.toThrow(/unknown migration 0009_nothing; known: 0001_initial/);
  });
});

describe('migrations started by two processes at once', () => {
  let testDatabase: TestDatabase;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  it('apply each migration once: one applies them, the other waits and finds nothing to do', async (context) => {
    if (testDatabase.kind === 'pglite') context.skip('PGlite serves one session: there is no second process to race');
    const first = createDatabase({ connectionString: testDatabase.url, poolMax: 2 });
    const second = createDatabase({ connectionString: testDatabase.url, poolMax: 2 });
    try {
      const results = await Promise.all([migrateToLatest(first), migrateToLatest(second)]);
      expect(results.flat().sort()).toEqual(ALL_MIGRATIONS);
      expect(await tableNames(first)).toEqual(tablesUpTo(LATEST));
      const { rows } = await sql<{ count: number }>`select count(*)::int as count from kysely_migration`.execute(first);
      expect(rows[0]?.count).toBe(ALL_MIGRATIONS.length);
    } finally {
      await first.destroy();
      await second.destroy();
    }
  });
});

describe('constraints of the schema', () => {
  const database = useTestDatabase();
  let db: Kysely<Database>;
  beforeAll(() => {
    db = database.db();
  });

  const unique = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;

  async function newUser(): Promise<string> {
    const { id } = await db
      .insertInto('users')
      .values({ display_name: unique('user') })
      .returning('id')
      .executeTakeFirstOrThrow();
    return id;
  }

  async function newSuite(name = unique('suite')): Promise<string> {
    const { id } = await db.insertInto('suites').values({ name }).returning('id').executeTakeFirstOrThrow();
    return id;
  }

  async function newSession(userId: string, suiteId: string): Promise<string> {
    const id = randomUUID();
    await db
      .insertInto('sessions')
      .values({ id, user_id: userId, suite_id: suiteId, storage_path: `sessions/${id}/` })
      .execute();
    return id;
  }

  it('rejects a second suite whose name differs only in case (23505)', async () => {
    const name = unique('Gmail');
    await newSuite(name);
    expect(await violationOf(newSuite(name.toUpperCase()))).toEqual({
      code: '23505',
      constraint: 'suites_name_lower_key',
    });
  });

  it('rejects blank or untrimmed catalog names (23514)', async () => {
    expect(await violationOf(newSuite('  '))).toMatchObject({ code: '23514' });
    expect(await violationOf(newSuite(' padded '))).toMatchObject({ code: '23514' });
  });

  it('refuses to delete a suite that a session references (23503)', async () => {
    const suiteId = await newSuite();
    await newSession(await newUser(), suiteId);
    expect(await violationOf(db.deleteFrom('suites').where('id', '=', suiteId).execute())).toEqual({
      code: '23503',
      constraint: 'sessions_suite_id_fkey',
    });
  });

  it('deletes the actions and their parameters with their suite', async () => {
    const suiteId = await newSuite();
    const { id: actionId } = await db
      .insertInto('actions')
      .values({ suite_id: suiteId, name: 'compose_email' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('action_parameters')
      .values([
        { action_id: actionId, name: 'to', type: 'STRING', required: true },
        { action_id: actionId, name: 'cc', type: 'ARRAY' },
      ])
      .execute();

    await db.deleteFrom('suites').where('id', '=', suiteId).execute();

    expect(await db.selectFrom('actions').where('suite_id', '=', suiteId).selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('action_parameters').where('action_id', '=', actionId).selectAll().execute()).toEqual(
      [],
    );
  });

  it('refuses to delete a mapped action (23503), and deletes mappings with their map', async () => {
    const suiteId = await newSuite();
    const { id: serverId } = await db
      .insertInto('mcp_servers')
      .values({ name: unique('server') })
      .returning('id')
      .executeTakeFirstOrThrow();
    const { id: actionId } = await db
      .insertInto('actions')
      .values({ suite_id: suiteId, name: 'archive_email' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const { id: toolId } = await db
      .insertInto('tools')
      .values({ mcp_server_id: serverId, name: 'archive_email' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const { id: mapId } = await db
      .insertInto('action_tool_maps')
      .values({ suite_id: suiteId, mcp_server_id: serverId })
      .returning('id')
      .executeTakeFirstOrThrow();
    const mapAction = () =>
      db
        .insertInto('action_tool_mappings')
        .values({ action_tool_map_id: mapId, action_id: actionId, tool_id: toolId })
        .execute();
    await mapAction();

    expect(await violationOf(db.deleteFrom('actions').where('id', '=', actionId).execute())).toEqual({
      code: '23503',
      constraint: 'action_tool_mappings_action_id_fkey',
    });
    expect(await violationOf(mapAction())).toEqual({
      code: '23505',
      constraint: 'action_tool_mappings_map_action_key',
    });

    await db.deleteFrom('action_tool_maps').where('id', '=', mapId).execute();
    expect(await db.selectFrom('action_tool_mappings').where('action_id', '=', actionId).selectAll().execute()).toEqual(
      [],
    );
    await db.deleteFrom('actions').where('id', '=', actionId).execute();
  });

  it('accepts only known, non-empty API key scopes and a hex hash (23514)', async () => {
    const userId = await newUser();
    const key = (overrides: { scopes?: string[]; key_hash?: string }) =>
      db
        .insertInto('api_keys')
        .values({
          user_id: userId,
          prefix: 'tp_live_sk_abcd...wxyz',
          key_hash: overrides.key_hash ?? randomUUID().replaceAll('-', '').repeat(2),
          ...(overrides.scopes ? { scopes: overrides.scopes as never } : {}),
        })
        .returning(['scopes', 'suite_ids'])
        .executeTakeFirstOrThrow();

    expect(await key({})).toEqual({ scopes: ['api'], suite_ids: null });
    expect(await key({ scopes: [...API_KEY_SCOPES] })).toMatchObject({ scopes: [...API_KEY_SCOPES] });
    expect(await violationOf(key({ scopes: ['api', 'admin'] }))).toEqual({
      code: '23514',
      constraint: 'api_keys_scopes_known',
    });
    expect(await violationOf(key({ scopes: [] }))).toEqual({ code: '23514', constraint: 'api_keys_scopes_known' });
    expect(await violationOf(key({ key_hash: 'tp_live_sk_not-a-hash' }))).toEqual({
      code: '23514',
      constraint: 'api_keys_key_hash_hex',
    });
  });

  it('limits an API key to every suite (null) or to a non-empty list of suites (23514)', async () => {
    const userId = await newUser();
    const suiteId = await newSuite();
    const key = (suiteIds: string[] | null) =>
      db
        .insertInto('api_keys')
        .values({ user_id: userId, prefix: 'p', key_hash: randomUUID().replaceAll('-', '').repeat(2), suite_ids: suiteIds })
        .returning('suite_ids')
        .executeTakeFirstOrThrow();

    expect(await key(null)).toEqual({ suite_ids: null });
    expect(await key([suiteId])).toEqual({ suite_ids: [suiteId] });
    expect(await violationOf(key([]))).toEqual({ code: '23514', constraint: 'api_keys_suite_ids_non_empty' });
  });

  it('rejects a sha256 that is not 64 lowercase hex characters, and a ready session without its measures', async () => {
    const sessionId = await newSession(await newUser(), await newSuite());
    const update = (values: SessionUpdate) =>
      db.updateTable('sessions').set(values).where('id', '=', sessionId).execute();

    expect(await violationOf(update({ sha256: 'ABC' }))).toEqual({ code: '23514', constraint: 'sessions_sha256_hex' });
    const canonical = { format: 'chrome-trace', clock: 'relative' as const, canonical_size_bytes: 9, canonical_sha256: 'b'.repeat(64) };
    expect(await violationOf(update({ status: 'ready', ...canonical }))).toEqual({
      code: '23514',
      constraint: 'sessions_ready_is_measured',
    });
    expect(await violationOf(update({ size_bytes: -1 }))).toMatchObject({ code: '23514' });
    const measured = { status: 'ready' as const, size_bytes: 10, event_count: 2, sha256: 'a'.repeat(64), event_counts: '{"a":2}' };
    expect(await violationOf(update(measured))).toEqual({ code: '23514', constraint: 'sessions_ready_is_canonical' });
    expect(await violationOf(update({ format: 'har' }))).toEqual({ code: '23514', constraint: 'sessions_format_known' });
    expect(await violationOf(update({ upload_file_name: '../x' }))).toEqual({ code: '23514', constraint: 'sessions_upload_file_name_safe' });
    expect(await violationOf(update({ ...measured, ...canonical }))).toBeNull();
  });

  it("keeps an example on its session's owner and suite, and on a map of that suite (23503)", async () => {
    const userId = await newUser();
    const suiteId = await newSuite();
    const otherSuiteId = await newSuite();
    const sessionId = await newSession(userId, suiteId);
    const { id: serverId } = await db
      .insertInto('mcp_servers')
      .values({ name: unique('server') })
      .returning('id')
      .executeTakeFirstOrThrow();
    const { id: modelId } = await db
      .insertInto('models')
      .values({ provider: 'OPENAI', name: unique('gpt') })
      .returning('id')
      .executeTakeFirstOrThrow();
    const mapOf = async (suite: string) =>
      (
        await db
          .insertInto('action_tool_maps')
          .values({ suite_id: suite, mcp_server_id: serverId })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    const mapId = await mapOf(suiteId);
    const otherMapId = await mapOf(otherSuiteId);
    const example = (values: { user_id?: string; suite_id?: string; action_tool_map_id?: string }) => {
      const id = randomUUID();
      return db
        .insertInto('examples')
        .values({
          id,
          user_id: values.user_id ?? userId,
          session_id: sessionId,
          suite_id: values.suite_id ?? suiteId,
          model_id: modelId,
          action_tool_map_id: values.action_tool_map_id ?? mapId,
          storage_path: `examples/${id}/`,
        })
        .returning(['status', 'model_configuration'])
        .executeTakeFirstOrThrow();
    };

    expect(await example({})).toEqual({ status: 'PENDING', model_configuration: {} });
    expect(await violationOf(example({ suite_id: otherSuiteId, action_tool_map_id: otherMapId }))).toEqual({
      code: '23503',
      constraint: 'examples_session_fkey',
    });
    expect(await violationOf(example({ user_id: await newUser() }))).toEqual({
      code: '23503',
      constraint: 'examples_session_fkey',
    });
    expect(await violationOf(example({ action_tool_map_id: otherMapId }))).toEqual({
      code: '23503',
      constraint: 'examples_action_tool_map_fkey',
    });
  });

  it('takes storage samples only on whole hours, once per user and hour', async () => {
    const userId = await newUser();
    const sample = (hour: string) =>
      db.insertInto('storage_samples').values({ user_id: userId, hour, bytes: 1024 }).execute();

    expect(await violationOf(sample('2026-02-01T10:00:00+05:30'))).toEqual({
      code: '23514',
      constraint: 'storage_samples_hour_whole',
    });
    expect(await violationOf(sample('2026-02-01T10:00:00Z'))).toBeNull();
    expect(await violationOf(sample('2026-02-01T11:00:00+01:00'))).toEqual({
      code: '23505',
      constraint: 'storage_samples_user_id_hour_key',
    });
  });

  it('stamps updated_at on every update that does not set it', async () => {
    const suiteId = await newSuite();
    const updatedAt = async () =>
      (await db.selectFrom('suites').select('updated_at').where('id', '=', suiteId).executeTakeFirstOrThrow())
        .updated_at;
    const before = await updatedAt();
    await new Promise((resolve) => setTimeout(resolve, 20));

    await db.updateTable('suites').set({ description: 'changed' }).where('id', '=', suiteId).execute();
    expect((await updatedAt()).getTime()).toBeGreaterThan(before.getTime());

    const explicit = new Date('2030-01-01T00:00:00Z');
    await db.updateTable('suites').set({ updated_at: explicit }).where('id', '=', suiteId).execute();
    expect((await updatedAt()).toISOString()).toBe(explicit.toISOString());
  });

  it('reads bigint as number, uuid[] as string[], jsonb as values and numeric as string', async () => {
    const userId = await newUser();
    const suiteId = await newSuite();
    const sessionId = await newSession(userId, suiteId);
    await db
      .updateTable('sessions')
      .set({ size_bytes: 5_000_000_000, event_counts: JSON.stringify({ keydown: 3 }) })
      .where('id', '=', sessionId)
      .execute();
    const session = await db
      .selectFrom('sessions')
      .select(['size_bytes', 'event_counts', 'validation_errors', 'created_at'])
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
    expect(session).toEqual({
      size_bytes: 5_000_000_000,
      event_counts: { keydown: 3 },
      validation_errors: [],
      created_at: expect.any(Date),
    });

    const key = await db
      .insertInto('api_keys')
      .values({ user_id: userId, prefix: 'p', key_hash: 'b'.repeat(64), suite_ids: [suiteId] })
      .returning('suite_ids')
      .executeTakeFirstOrThrow();
    expect(key.suite_ids).toEqual([suiteId]);

    const invoice = await db
      .insertInto('invoices')
      .values({
        user_id: userId,
        stripe_invoice_id: unique('in'),
        period_start: '2026-01-01T00:00:00Z',
        period_end: '2026-02-01T00:00:00Z',
        storage_gb_hours: '12.5',
        currency: 'usd',
      })
      .returning(['storage_gb_hours', 'total_amount', 'status'])
      .executeTakeFirstOrThrow();
    expect(invoice).toEqual({ storage_gb_hours: '12.5', total_amount: 0, status: 'draft' });
  });
});

describe('the migrate command', () => {
  let testDatabase: TestDatabase;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  it('exits 2 with "DATABASE_URL is not set" when DATABASE_URL is missing', async () => {
    const { lines, out } = captureOutput();
    expect(await runMigrateCommand([], {}, out)).toBe(2);
    expect(lines.error).toEqual(['DATABASE_URL is not set']);
  });

  it('exits 2 with its usage on an unknown command', async () => {
    const { lines, out } = captureOutput();
    expect(await runMigrateCommand(['sideways'], { DATABASE_URL: testDatabase.url }, out)).toBe(2);
    expect(await runMigrateCommand(['to'], { DATABASE_URL: testDatabase.url }, out)).toBe(2);
    expect(lines.error).toEqual([expect.stringMatching(/^usage: migrate/), expect.stringMatching(/^usage: migrate/)]);
  });

  it('migrates to latest by default, reports status, goes down and to a named migration', async () => {
    // Each run opens and closes a pool of its own.
    const env = { DATABASE_URL: testDatabase.url };
    const run = async (...argv: string[]) => {
      const { lines, out } = captureOutput();
      const code = await runMigrateCommand(argv, env, out);
      return { code, ...lines };
    };

    expect(await run()).toEqual({ code: 0, log: ALL_MIGRATIONS.map((name) => `applied ${name}`), error: [] });
    expect(await run('latest')).toEqual({ code: 0, log: ['nothing to do'], error: [] });
    const status = await run('status');
    expect(status.code).toBe(0);
    expect(status.log).toHaveLength(ALL_MIGRATIONS.length);
    expect(status.log[ALL_MIGRATIONS.length - 1]).toMatch(new RegExp(`^${LATEST} {2}applied \\d{4}-`));
    expect(await run('down')).toEqual({ code: 0, log: [`reverted ${LATEST}`], error: [] });
    expect(await run('to', '0002_catalog')).toEqual({
      code: 0,
      log: ALL_MIGRATIONS.slice(2, -1).reverse().map((name) => `reverted ${name}`),
      error: [],
    });
    expect((await run('status')).log.slice(2)).toEqual(ALL_MIGRATIONS.slice(2).map((name) => `${name}  pending`));
    expect(await run('up')).toEqual({ code: 0, log: ['applied 0003_sessions_and_examples'], error: [] });
    expect(await run('to', LATEST)).toEqual({
      code: 0,
      log: ALL_MIGRATIONS.slice(3).map((name) => `applied ${name}`),
      error: [],
    });
  });

  it('exits 1 with the reason when a migration cannot run', async () => {
    const { lines, out } = captureOutput();
    expect(await runMigrateCommand(['to', '0009_nothing'], { DATABASE_URL: testDatabase.url }, out)).toBe(1);
    expect(lines.error).toEqual([expect.stringMatching(/^unknown migration 0009_nothing/)]);
  });
});
