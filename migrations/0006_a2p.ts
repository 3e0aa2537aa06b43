import { sql, type Kysely } from 'kysely';

/*
 * A2P (agent-to-platform over the A2A protocol): its tasks and the audit trail of its requests.
 *
 * - a2p_tasks: the A2A tasks, one row each, owned by a user. The SDK's own database store keys tasks by a free-text
 *   owner with no link to anything; ours references the user and the session and example a task drives, so that
 *   a task's state can follow them (shared/a2p/taskProgress.ts) and the open ones are found by index. The A2A
 *   payload (status, artifacts, history, metadata) is kept as the SDK serialises it (`Task.toJSON`), in jsonb.
 *   Order and cursor match the SDK's ListTasks: status time descending, then id. `revision` counts writes, so that
 *   the progress code (which runs wherever a task is read) updates a task only if nobody did meanwhile.
 * - a2p_requests: one row per JSON-RPC request (user, key, method, task, outcome, time), for audit. No foreign
 *   key on task_id: a request may name a task that does not exist (or is another user's), and that is worth keeping.
 *
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

const TASK_STATES = [
  'TASK_STATE_SUBMITTED',
  'TASK_STATE_WORKING',
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_INPUT_REQUIRED',
  'TASK_STATE_REJECTED',
  'TASK_STATE_AUTH_REQUIRED',
];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table a2p_tasks (
      id uuid primary key,
      user_id uuid not null references users (id) on delete no action,
      context_id text not null,
      state text not null,
      status_timestamp timestamptz not null,
      status jsonb not null,
      artifacts jsonb not null default '[]',
      history jsonb not null default '[]',
      metadata jsonb,
      session_id uuid references sessions (id) on delete set null,
      example_id uuid references examples (id) on delete set null,
      revision integer not null default 0,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint a2p_tasks_state_known check (state in (${sql.join(TASK_STATES.map((state) => sql.lit(state)))})),
      constraint a2p_tasks_context_id_length check (length(context_id) between 1 and 255),
      constraint a2p_tasks_artifacts_array check (jsonb_typeof(artifacts) = 'array'),
      constraint a2p_tasks_history_array check (jsonb_typeof(history) = 'array')
    )`.execute(db);
  await sql`create index a2p_tasks_user_idx on a2p_tasks (user_id, status_timestamp desc, id desc)`.execute(db);
  await sql`
    create index a2p_tasks_user_context_idx on a2p_tasks (user_id, context_id, status_timestamp desc, id desc)`.execute(db);
  // The tasks still waiting on their session or example: what the progress timer scans.
  await sql`
    create index a2p_tasks_open_idx on a2p_tasks (status_timestamp)
    where state in ('TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING')`.execute(db);
  await sql`create index a2p_tasks_session_id_idx on a2p_tasks (session_id) where session_id is not null`.execute(db);
  await sql`create index a2p_tasks_example_id_idx on a2p_tasks (example_id) where example_id is not null`.execute(db);
  await sql`
    create trigger a2p_tasks_set_updated_at before update on a2p_tasks
    for each row execute function set_updated_at()`.execute(db);

  await sql`
    create table a2p_requests (
      id bigint generated always as identity primary key,
      request_id text not null,
      user_id uuid references users (id) on delete set null,
      api_key_id uuid references api_keys (id) on delete set null,
      method text,
      protocol_version text not null,
      task_id text,
      outcome text not null,
      error_code integer,
      error_message text,
      duration_ms integer not null,
      created_at timestamptz not null default now(),
      constraint a2p_requests_outcome_known check (outcome in ('ok', 'error')),
      constraint a2p_requests_error_has_code check ((outcome = 'error') = (error_code is not null)),
      constraint a2p_requests_duration_non_negative check (duration_ms >= 0)
    )`.execute(db);
  await sql`create index a2p_requests_user_idx on a2p_requests (user_id, created_at desc)`.execute(db);
  await sql`create index a2p_requests_created_at_idx on a2p_requests (created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table a2p_requests`.execute(db);
  await sql`drop table a2p_tasks`.execute(db);
}
