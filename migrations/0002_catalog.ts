import { sql, type Kysely } from 'kysely';

/*
 * The catalog: suites with their actions and action parameters, MCP servers with their tools and tool parameters,
 * action-tool maps with their mappings, and models.
 *
 * ON DELETE: what is part of a parent (actions of a suite, parameters of an action or tool, tools of a server,
 * mappings of a map, parameter mappings of a mapping) cascades; a reference from another aggregate refuses the
 * delete, which fails with 23503 (foreign_key_violation) and the API answers 409. Those references say NO ACTION
 * rather than RESTRICT: both refuse (no constraint here is deferrable), but since PostgreSQL 18 (commit 086c84b23,
 * and in the PGlite we embed) a RESTRICT violation is reported as 23001 (restrict_violation), while NO ACTION
 * reports 23503 on every version. Migrations 0003 and 0004 do the same.
 *
 * Migrations take Kysely<any> on purpose: they must keep working as the Database type evolves, so they may not
 * depend on it (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create type parameter_type as enum ('STRING', 'NUMBER', 'BOOLEAN', 'OBJECT', 'ARRAY')`.execute(db);
  await sql`create type model_provider as enum ('OPENAI', 'ANTHROPIC', 'VERTEXAI', 'CUSTOM')`.execute(db);

  await sql`
    create table suites (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint suites_name_trimmed check (name <> '' and name = btrim(name))
    )`.execute(db);
  await sql`create unique index suites_name_lower_key on suites (lower(name))`.execute(db);
  await sql`create index suites_created_at_idx on suites (created_at desc, id desc)`.execute(db);

  await sql`
    create table actions (
      id uuid primary key default gen_random_uuid(),
      suite_id uuid not null references suites (id) on delete cascade,
      name text not null,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint actions_suite_id_name_key unique (suite_id, name),
      constraint actions_name_trimmed check (name <> '' and name = btrim(name))
    )`.execute(db);
  await sql`create index actions_suite_id_created_at_idx on actions (suite_id, created_at desc, id desc)`.execute(db);

  await sql`
    create table action_parameters (
      id uuid primary key default gen_random_uuid(),
      action_id uuid not null references actions (id) on delete cascade,
      name text not null,
      type parameter_type not null,
      required boolean not null default false,
      description text,
      position integer not null default 0,
      created_at timestamptz not null default now(),
      constraint action_parameters_action_id_name_key unique (action_id, name),
      constraint action_parameters_name_trimmed check (name <> '' and name = btrim(name)),
      constraint action_parameters_position_non_negative check (position >= 0)
    )`.execute(db);

  await sql`
    create table mcp_servers (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      description text,
      url text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint mcp_servers_name_trimmed check (name <> '' and name = btrim(name))
    )`.execute(db);
  await sql`create unique index mcp_servers_name_lower_key on mcp_servers (lower(name))`.execute(db);
  await sql`create index mcp_servers_created_at_idx on mcp_servers (created_at desc, id desc)`.execute(db);

  await sql`
    create table tools (
      id uuid primary key default gen_random_uuid(),
      mcp_server_id uuid not null references mcp_servers (id) on delete cascade,
      name text not null,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint tools_mcp_server_id_name_key unique (mcp_server_id, name),
      constraint tools_name_trimmed check (name <> '' and name = btrim(name))
    )`.execute(db);
  await sql`
    create index tools_mcp_server_id_created_at_idx on tools (mcp_server_id, created_at desc, id desc)`.execute(db);

  await sql`
    create table tool_parameters (
      id uuid primary key default gen_random_uuid(),
      tool_id uuid not null references tools (id) on delete cascade,
      name text not null,
      type parameter_type not null,
      required boolean not null default false,
      description text,
      position integer not null default 0,
      created_at timestamptz not null default now(),
      constraint tool_parameters_tool_id_name_key unique (tool_id, name),
      constraint tool_parameters_name_trimmed check (name <> '' and name = btrim(name)),
      constraint tool_parameters_position_non_negative check (position >= 0)
    )`.execute(db);

  // (id, suite_id) is unique so that examples can reference a map together with their suite: an example can
  // only use a map of its session's suite.
  await sql`
    create table action_tool_maps (
      id uuid primary key default gen_random_uuid(),
      suite_id uuid not null references suites (id) on delete no action,
      mcp_server_id uuid not null references mcp_servers (id) on delete no action,
      name text,
      description text,
      created_at timestamptz not null default now(),
      constraint action_tool_maps_id_suite_id_key unique (id, suite_id),
      constraint action_tool_maps_name_trimmed check (name <> '' and name = btrim(name))
    )`.execute(db);
  await sql`create index action_tool_maps_created_at_idx on action_tool_maps (created_at desc, id desc)`.execute(db);
  await sql`
    create index action_tool_maps_suite_id_idx on action_tool_maps (suite_id, created_at desc, id desc)`.execute(db);
  await sql`
    create index action_tool_maps_mcp_server_id_idx
    on action_tool_maps (mcp_server_id, created_at desc, id desc)`.execute(db);

  // The indexes on action_id, tool_id and the parameter ids serve the foreign key checks when an action, tool or
  // parameter is deleted, which would otherwise scan the whole table.
  await sql`
    create table action_tool_mappings (
      id uuid primary key default gen_random_uuid(),
      action_tool_map_id uuid not null references action_tool_maps (id) on delete cascade,
      action_id uuid not null references actions (id) on delete no action,
      tool_id uuid not null references tools (id) on delete no action,
      created_at timestamptz not null default now(),
      constraint action_tool_mappings_map_action_key unique (action_tool_map_id, action_id)
    )`.execute(db);
  await sql`create index action_tool_mappings_action_id_idx on action_tool_mappings (action_id)`.execute(db);
  await sql`create index action_tool_mappings_tool_id_idx on action_tool_mappings (tool_id)`.execute(db);

  await sql`
    create table action_tool_parameter_mappings (
      id uuid primary key default gen_random_uuid(),
      action_tool_mapping_id uuid not null references action_tool_mappings (id) on delete cascade,
      action_parameter_id uuid not null references action_parameters (id) on delete no action,
      tool_parameter_id uuid not null references tool_parameters (id) on delete no action,
      created_at timestamptz not null default now(),
      constraint action_tool_parameter_mappings_action_parameter_key
        unique (action_tool_mapping_id, action_parameter_id),
      constraint action_tool_parameter_mappings_tool_parameter_key
        unique (action_tool_mapping_id, tool_parameter_id)
    )`.execute(db);
  await sql`
    create index action_tool_parameter_mappings_action_parameter_id_idx
    on action_tool_parameter_mappings (action_parameter_id)`.execute(db);
  await sql`
    create index action_tool_parameter_mappings_tool_parameter_id_idx
    on action_tool_parameter_mappings (tool_parameter_id)`.execute(db);

  await sql`
    create table models (
      id uuid primary key default gen_random_uuid(),
      provider model_provider not null,
      name text not null,
      display_name text,
      created_at timestamptz not null default now(),
      constraint models_name_trimmed check (name <> '' and name = btrim(name))
    )`.execute(db);
  await sql`create unique index models_provider_name_lower_key on models (provider, lower(name))`.execute(db);
  await sql`create index models_created_at_idx on models (created_at desc, id desc)`.execute(db);

  for (const table of ['suites', 'actions', 'mcp_servers', 'tools']) {
    await sql`
      create trigger ${sql.id(`${table}_set_updated_at`)} before update on ${sql.table(table)}
      for each row execute function set_updated_at()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'models',
    'action_tool_parameter_mappings',
    'action_tool_mappings',
    'action_tool_maps',
    'tool_parameters',
    'tools',
    'mcp_servers',
    'action_parameters',
    'actions',
    'suites',
  ]) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
  await sql`drop type model_provider`.execute(db);
  await sql`drop type parameter_type`.execute(db);
}
