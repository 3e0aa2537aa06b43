import { sql, type Kysely } from 'kysely';

/*
 * Billing, second part: what the Stripe sync, the storage sampler and GET /v1/usage need beyond 0004.
 *
 * - token_usage and storage_samples learn the state of their Stripe meter event: when a call that may have reached
 *   Stripe was first made (stripe_attempted_at: from then on the row is "in doubt" until Stripe confirms), a
 *   permanent failure (stripe_failed_at, with stripe_error), and what the sync decided (stripe_resolution). The sync
 *   finds its work through one partial index per table: unsent and not failed.
 * - token_usage_daily: token usage summed per user, suite, model and UTC day, maintained by triggers on token_usage
 *   in the same transaction as every insert (whoever inserts), so GET /v1/usage sums at most ~31 rows per suite and
 *   model instead of scanning a month of usage rows ("aggregate, do not scan"). The insert trigger is per statement
 *   with a transition table, so a bulk insert costs one grouped upsert, not one per row.
 * - example_storage_totals: bytes of examples' files per user, as the storage sampler last listed them in Blob
 *   (sessions' bytes are in sessions.size_bytes already).
 * - partial indexes that let the monthly counts of uploaded sessions and completed examples be index-only scans.
 * - users: the subscription made of the metered prices, and the time of the Stripe event that last set the
 *   default payment method (so an older event delivered late cannot undo a newer one).
 * - invoices: the time of the Stripe event that last wrote the row, for the same reason.
 * - stripe_sync_runs: what each sync run did, or that it waited for configuration; the report operators read.
 *
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ['token_usage', 'storage_samples']) {
    await sql`
      alter table ${sql.table(table)}
        add column stripe_attempted_at timestamptz,
        add column stripe_failed_at timestamptz,
        add column stripe_resolution text`.execute(db);
  }
  await sql`drop index token_usage_unsent_idx`.execute(db);
  await sql`drop index storage_samples_unsent_idx`.execute(db);
  await sql`
    create index token_usage_stripe_pending_idx on token_usage (recorded_at, id)
    where stripe_sent_at is null and stripe_failed_at is null`.execute(db);
  await sql`
    create index storage_samples_stripe_pending_idx on storage_samples (hour, id)
    where stripe_sent_at is null and stripe_failed_at is null`.execute(db);

  await sql`
    create table token_usage_daily (
      user_id uuid not null,
      day date not null,
      suite_id uuid not null,
      model_id uuid not null,
      input_tokens bigint not null default 0,
      output_tokens bigint not null default 0,
      examples bigint not null default 0,
      constraint token_usage_daily_pkey primary key (user_id, day, suite_id, model_id)
    )`.execute(db);

  // Rows are grouped and upserted in key order, so two concurrent bulk inserts lock rollup rows in the same order
  // and cannot deadlock on each other.
  await sql`
    create function token_usage_daily_add() returns trigger language plpgsql as $$
    begin
      insert into token_usage_daily as d (user_id, day, suite_id, model_id, input_tokens, output_tokens, examples)
      select user_id, (recorded_at at time zone 'UTC')::date, suite_id, model_id,
             sum(input_tokens), sum(output_tokens), count(*)
      from inserted_usage
      group by 1, 2, 3, 4
      order by 1, 2, 3, 4
      on conflict (user_id, day, suite_id, model_id) do update
        set input_tokens = d.input_tokens + excluded.input_tokens,
            output_tokens = d.output_tokens + excluded.output_tokens,
            examples = d.examples + excluded.examples;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger token_usage_daily_insert after insert on token_usage
    referencing new table as inserted_usage
    for each statement execute function token_usage_daily_add()`.execute(db);

  // Usage rows are not meant to change or go away; if one ever does, the rollup follows (per row: rare).
  await sql`
    create function token_usage_daily_change() returns trigger language plpgsql as $$
    begin
      if tg_op in ('UPDATE', 'DELETE') then
        update token_usage_daily
          set input_tokens = input_tokens - old.input_tokens,
              output_tokens = output_tokens - old.output_tokens,
              examples = examples - 1
          where user_id = old.user_id and day = (old.recorded_at at time zone 'UTC')::date
            and suite_id = old.suite_id and model_id = old.model_id;
      end if;
      if tg_op = 'UPDATE' then
        insert into token_usage_daily as d (user_id, day, suite_id, model_id, input_tokens, output_tokens, examples)
        values (new.user_id, (new.recorded_at at time zone 'UTC')::date, new.suite_id, new.model_id,
                new.input_tokens, new.output_tokens, 1)
        on conflict (user_id, day, suite_id, model_id) do update
          set input_tokens = d.input_tokens + excluded.input_tokens,
              output_tokens = d.output_tokens + excluded.output_tokens,
              examples = d.examples + 1;
      end if;
      return null;
    end
    $$`.execute(db);
  // Only the columns the rollup is made of: the sync's updates of the stripe_* columns do not fire it.
  await sql`
    create trigger token_usage_daily_update
    after update of user_id, suite_id, model_id, input_tokens, output_tokens, recorded_at on token_usage
    for each row execute function token_usage_daily_change()`.execute(db);
  await sql`
    create trigger token_usage_daily_delete after delete on token_usage
    for each row execute function token_usage_daily_change()`.execute(db);

  await sql`
    create table example_storage_totals (
      user_id uuid primary key references users (id) on delete cascade,
      bytes bigint not null,
      measured_at timestamptz not null,
      constraint example_storage_totals_bytes_non_negative check (bytes >= 0)
    )`.execute(db);

  // Index-only monthly counts (with the suite for ?suite_id), and the live bytes of a user's sessions.
  await sql`
    create index sessions_user_uploaded_idx on sessions (user_id, created_at, suite_id)
    where status <> 'awaiting_upload'`.execute(db);
  await sql`
    create index sessions_user_size_idx on sessions (user_id) include (size_bytes)
    where size_bytes is not null`.execute(db);
  await sql`
    create index examples_user_completed_idx on examples (user_id, completed_at, suite_id)
    where status = 'COMPLETED'`.execute(db);

  await sql`
    alter table users
      add column stripe_subscription_id text,
      add column payment_method_event_at timestamptz`.execute(db);

  await sql`alter table invoices add column stripe_event_at timestamptz`.execute(db);

  await sql`
    create table stripe_sync_runs (
      id uuid primary key default gen_random_uuid(),
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      outcome text not null default 'running',
      details jsonb not null default '{}',
      constraint stripe_sync_runs_outcome_known check (
        outcome in ('running', 'completed', 'backed_off', 'waiting_for_configuration', 'skipped_locked', 'failed')
      ),
      constraint stripe_sync_runs_details_object check (jsonb_typeof(details) = 'object')
    )`.execute(db);
  await sql`create index stripe_sync_runs_started_at_idx on stripe_sync_runs (started_at desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table stripe_sync_runs`.execute(db);
  await sql`alter table invoices drop column stripe_event_at`.execute(db);
  await sql`alter table users drop column stripe_subscription_id, drop column payment_method_event_at`.execute(db);
  await sql`drop index examples_user_completed_idx`.execute(db);
  await sql`drop index sessions_user_size_idx`.execute(db);
  await sql`drop index sessions_user_uploaded_idx`.execute(db);
  await sql`drop table example_storage_totals`.execute(db);
  await sql`drop trigger token_usage_daily_delete on token_usage`.execute(db);
  await sql`drop trigger token_usage_daily_update on token_usage`.execute(db);
  await sql`drop trigger token_usage_daily_insert on token_usage`.execute(db);
  await sql`drop function token_usage_daily_change()`.execute(db);
  await sql`drop function token_usage_daily_add()`.execute(db);
  await sql`drop table token_usage_daily`.execute(db);
  await sql`drop index storage_samples_stripe_pending_idx`.execute(db);
  await sql`drop index token_usage_stripe_pending_idx`.execute(db);
  await sql`create index storage_samples_unsent_idx on storage_samples (hour, id) where stripe_sent_at is null`.execute(db);
  await sql`create index token_usage_unsent_idx on token_usage (recorded_at, id) where stripe_sent_at is null`.execute(db);
  for (const table of ['token_usage', 'storage_samples']) {
    await sql`
      alter table ${sql.table(table)}
        drop column stripe_attempted_at,
        drop column stripe_failed_at,
        drop column stripe_resolution`.execute(db);
  }
}
