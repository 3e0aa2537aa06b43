import { sql, type Kysely } from 'kysely';

/*
 * Sessions (uploaded recordings) and examples (training files made from them), with an index for every list the
 * API offers: a user's rows newest first, with id as the tie-break, optionally filtered.
 *
 * Migrations take Kysely<any> on purpose: they must keep working as the Database type evolves, so they may not
 * depend on it (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create type session_status as enum ('awaiting_upload', 'processing', 'ready', 'invalid')`.execute(db);
  await sql`create type example_status as enum ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED')`.execute(db);

  // (id, user_id, suite_id) is unique so that examples can reference it whole: their denormalized owner and suite
  // then cannot drift from the session's.
  await sql`
    create table sessions (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete no action,
      suite_id uuid not null references suites (id) on delete no action,
      description text,
      storage_path text not null,
      status session_status not null default 'awaiting_upload',
      size_bytes bigint,
      event_count bigint,
      event_counts jsonb,
      sha256 text,
      first_event_ts double precision,
      last_event_ts double precision,
      validation_errors jsonb not null default '[]',
      indexed_etag text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint sessions_id_user_id_suite_id_key unique (id, user_id, suite_id),
      constraint sessions_storage_path_not_empty check (storage_path <> ''),
      constraint sessions_size_bytes_non_negative check (size_bytes >= 0),
      constraint sessions_event_count_non_negative check (event_count >= 0),
      constraint sessions_event_counts_object check (jsonb_typeof(event_counts) = 'object'),
      constraint sessions_sha256_hex check (sha256 ~ '^[0-9a-f]{64}$'),
      constraint sessions_validation_errors_array check (jsonb_typeof(validation_errors) = 'array'),
      constraint sessions_ready_is_measured check (
        status <> 'ready' or (size_bytes is not null and event_count is not null and sha256 is not null)
      )
    )`.execute(db);
  await sql`create index sessions_user_idx on sessions (user_id, created_at desc, id desc)`.execute(db);
  await sql`
    create index sessions_user_suite_idx on sessions (user_id, suite_id, created_at desc, id desc)`.execute(db);
  // Serves the foreign key check when a suite is deleted.
  await sql`create index sessions_suite_id_idx on sessions (suite_id)`.execute(db);

  await sql`
    create table examples (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete no action,
      session_id uuid not null,
      suite_id uuid not null,
      model_id uuid not null references models (id) on delete no action,
      action_tool_map_id uuid not null,
      model_configuration jsonb not null default '{}',
      storage_path text not null,
      status example_status not null default 'PENDING',
      error text,
      input_tokens bigint,
      output_tokens bigint,
      idempotency_key text,
      idempotency_fingerprint text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      completed_at timestamptz,
      constraint examples_session_fkey foreign key (session_id, user_id, suite_id)
        references sessions (id, user_id, suite_id) on delete no action,
      constraint examples_action_tool_map_fkey foreign key (action_tool_map_id, suite_id)
        references action_tool_maps (id, suite_id) on delete no action,
      constraint examples_user_id_idempotency_key_key unique (user_id, idempotency_key),
      constraint examples_storage_path_not_empty check (storage_path <> ''),
      constraint examples_model_configuration_object check (jsonb_typeof(model_configuration) = 'object'),
      constraint examples_input_tokens_non_negative check (input_tokens >= 0),
      constraint examples_output_tokens_non_negative check (output_tokens >= 0),
      constraint examples_completed_at_final check (completed_at is null or status in ('COMPLETED', 'FAILED'))
    )`.execute(db);
  await sql`create index examples_user_idx on examples (user_id, created_at desc, id desc)`.execute(db);
  // Also serves the check of examples_session_fkey when a session is deleted.
  await sql`
    create index examples_user_session_idx on examples (user_id, session_id, created_at desc, id desc)`.execute(db);
  await sql`
    create index examples_user_suite_idx on examples (user_id, suite_id, created_at desc, id desc)`.execute(db);
  await sql`
    create index examples_user_model_idx on examples (user_id, model_id, created_at desc, id desc)`.execute(db);
  await sql`
    create index examples_user_status_idx on examples (user_id, status, created_at desc, id desc)`.execute(db);
  // Serves the foreign key check of DELETE /v1/action-tool-maps/{id}.
  await sql`create index examples_action_tool_map_id_idx on examples (action_tool_map_id)`.execute(db);

  // The transactional outbox of example jobs: a row is written with its example, in one transaction, and removed
  // once the job is on the queue, so that a failed enqueue is retried (by a timer) instead of leaving the
  // example PENDING with no job.
  await sql`
    create table example_job_outbox (
      example_id uuid primary key references examples (id) on delete cascade,
      payload jsonb not null,
      attempts integer not null default 0,
      last_error text,
      next_attempt_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      constraint example_job_outbox_payload_object check (jsonb_typeof(payload) = 'object')
    )`.execute(db);
  await sql`create index example_job_outbox_due_idx on example_job_outbox (next_attempt_at)`.execute(db);

  for (const table of ['sessions', 'examples']) {
    await sql`
      create trigger ${sql.id(`${table}_set_updated_at`)} before update on ${sql.table(table)}
      for each row execute function set_updated_at()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table example_job_outbox`.execute(db);
  await sql`drop table examples`.execute(db);
  await sql`drop table sessions`.execute(db);
  await sql`drop type example_status`.execute(db);
  await sql`drop type session_status`.execute(db);
}
