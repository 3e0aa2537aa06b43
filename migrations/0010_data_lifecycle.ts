import { sql, type Kysely } from 'kysely';

/*
 * Data lifecycle and privacy (issue 22): deletion, retention, erasure of a user, redaction at ingestion.
 *
 * - session_status gains `expired` (retention removed its files, the row stays) and `deleted` (its owner deleted
 *   it, the row stays for billing history). deleted_at and expired_at say when its files stopped being stored
 *   (what storage billing reads); stored_bytes is set to 0 at that moment.
 * - purged_at (sessions and examples): when the files of a deleted or expired row were all removed; rows
 *   without it are swept again by the daily lifecycle run (storage was down, a process died half way).
 * - sessions.redactions and redaction_counts: how many values the indexer masked, in all and by rule.
 * - examples.deleted_at: a deleted example keeps its row (and its pipeline status: its usage was billed), its
 *   messages file is gone.
 * - user_settings: retention (days, null = keep) and the optional redaction rules; a user without a row follows
 *   the configured defaults, and registration writes the defaults in force then.
 * - user_erasures: DELETE /v1/users/me, one row per user, with the step reached, so that an erasure that dies half
 *   way is finished by its retry. users.erased_at marks the anonymised row.
 * - storage_sample_rollups: the hourly storage samples billed into a final invoice, summed (one row per user,
 *   invoice, calendar month and sync state), the samples themselves deleted.
 *
 * The new enum values are not used here: PostgreSQL allows ADD VALUE in a transaction but not a use of the value
 * before it commits, and the migrator runs pending migrations in one transaction.
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter type session_status add value if not exists 'expired'`.execute(db);
  await sql`alter type session_status add value if not exists 'deleted'`.execute(db);
  await sql`
    alter table sessions
      add column deleted_at timestamptz,
      add column expired_at timestamptz,
      add column purged_at timestamptz,
      add column redactions bigint not null default 0,
      add column redaction_counts jsonb not null default '{}',
      add constraint sessions_redactions_non_negative check (redactions >= 0),
      add constraint sessions_redaction_counts_object check (jsonb_typeof(redaction_counts) = 'object')`.execute(db);
  // What the retention run scans: a user's live sessions by age; and the files still to remove after a deletion.
  await sql`
    create index sessions_retention_idx on sessions (user_id, created_at)
    where deleted_at is null and expired_at is null`.execute(db);
  await sql`
    create index sessions_unpurged_idx on sessions (coalesce(deleted_at, expired_at))
    where (deleted_at is not null or expired_at is not null) and purged_at is null`.execute(db);

  await sql`alter table examples add column deleted_at timestamptz, add column purged_at timestamptz`.execute(db);
  await sql`
    create index examples_retention_idx on examples (user_id, created_at) where deleted_at is null`.execute(db);
  await sql`create index examples_unpurged_idx on examples (deleted_at) where deleted_at is not null and purged_at is null`.execute(db);

  await sql`
    create table user_settings (
      user_id uuid primary key references users (id) on delete cascade,
      session_retention_days integer,
      example_retention_days integer,
      redact_email_addresses boolean not null,
      redact_card_numbers boolean not null,
      redaction_patterns jsonb not null default '[]',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint user_settings_session_retention_range check (session_retention_days between 1 and 3650),
      constraint user_settings_example_retention_range check (example_retention_days between 1 and 3650),
      constraint user_settings_redaction_patterns_array check (jsonb_typeof(redaction_patterns) = 'array')
    )`.execute(db);
  await sql`
    create trigger user_settings_set_updated_at before update on user_settings
    for each row execute function set_updated_at()`.execute(db);

  await sql`alter table users add column erased_at timestamptz`.execute(db);
  await sql`
    create table user_erasures (
      user_id uuid primary key references users (id) on delete no action,
      step text not null,
      requested_at timestamptz not null default now(),
      completed_at timestamptz,
      attempts integer not null default 1,
      updated_at timestamptz not null default now(),
      constraint user_erasures_completed_is_done check ((completed_at is null) = (step <> 'done'))
    )`.execute(db);
  await sql`create index user_erasures_unfinished_idx on user_erasures (updated_at) where completed_at is null`.execute(db);
  await sql`
    create trigger user_erasures_set_updated_at before update on user_erasures
    for each row execute function set_updated_at()`.execute(db);

  // One row per user, final invoice, calendar month of the hours and sync state (the columns GET /v1/usage reads of
  // a sample: carried_to, sent, failed, attempted, resolution), so that a row counts exactly as its samples did.
  await sql`
    create table storage_sample_rollups (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete no action,
      invoice_id uuid not null references invoices (id) on delete no action,
      hour_from timestamptz not null,
      hour_until timestamptz not null,
      samples integer not null,
      byte_hours numeric not null,
      meter_kb_hours bigint not null,
      carried_to timestamptz,
      sent boolean not null,
      failed boolean not null,
      attempted boolean not null,
      resolution text,
      created_at timestamptz not null default now(),
      constraint storage_sample_rollups_ordered check (hour_until > hour_from),
      constraint storage_sample_rollups_one_month check (
        date_trunc('month', hour_from at time zone 'UTC') = date_trunc('month', (hour_until - interval '1 hour') at time zone 'UTC')
      ),
      constraint storage_sample_rollups_whole_hours check (
        mod(extract(epoch from hour_from), 3600) = 0 and mod(extract(epoch from hour_until), 3600) = 0
      ),
      constraint storage_sample_rollups_settled check (sent or failed),
      constraint storage_sample_rollups_figures_non_negative check (samples > 0 and byte_hours >= 0 and meter_kb_hours >= 0)
    )`.execute(db);
  await sql`create index storage_sample_rollups_user_hour_idx on storage_sample_rollups (user_id, hour_from)`.execute(db);
  await sql`
    create index storage_sample_rollups_user_carried_idx on storage_sample_rollups (user_id, carried_to)
    where carried_to is not null`.execute(db);
  await sql`create index storage_sample_rollups_invoice_idx on storage_sample_rollups (invoice_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table storage_sample_rollups`.execute(db);
  await sql`drop table user_erasures`.execute(db);
  await sql`alter table users drop column erased_at`.execute(db);
  await sql`drop table user_settings`.execute(db);
  await sql`drop index examples_unpurged_idx`.execute(db);
  await sql`drop index examples_retention_idx`.execute(db);
  await sql`alter table examples drop column deleted_at, drop column purged_at`.execute(db);
  await sql`drop index sessions_unpurged_idx`.execute(db);
  await sql`drop index sessions_retention_idx`.execute(db);
  await sql`
    alter table sessions
      drop constraint sessions_redaction_counts_object,
      drop constraint sessions_redactions_non_negative,
      drop column redaction_counts,
      drop column redactions,
      drop column purged_at,
      drop column expired_at,
      drop column deleted_at`.execute(db);
  // Enum values cannot be dropped: the type is rebuilt without them. A session whose files are gone reads as
  // invalid before this migration (nothing stored, not to be used); the partial index naming a status goes and
  // comes back around the change of type, and so do the checks that name one.
  await sql`update sessions set status = 'invalid' where status::text in ('expired', 'deleted')`.execute(db);
  await sql`drop index sessions_user_uploaded_idx`.execute(db);
  await sql`alter table sessions drop constraint sessions_ready_is_measured, drop constraint sessions_ready_is_canonical`.execute(db);
  await sql`alter table sessions alter column status drop default`.execute(db);
  await sql`alter type session_status rename to session_status_0010`.execute(db);
  await sql`create type session_status as enum ('awaiting_upload', 'processing', 'ready', 'invalid')`.execute(db);
  await sql`alter table sessions alter column status type session_status using status::text::session_status`.execute(db);
  await sql`alter table sessions alter column status set default 'awaiting_upload'`.execute(db);
  await sql`drop type session_status_0010`.execute(db);
  await sql`
    create index sessions_user_uploaded_idx on sessions (user_id, created_at, suite_id)
    where status <> 'awaiting_upload'`.execute(db);
  await sql`
    alter table sessions
      add constraint sessions_ready_is_measured check (
        status <> 'ready' or (size_bytes is not null and event_count is not null and sha256 is not null)
      ),
      add constraint sessions_ready_is_canonical check (
        status <> 'ready' or (format is not null and clock is not null and canonical_sha256 is not null
          and canonical_size_bytes is not null)
      )`.execute(db);
}
