import { sql, type Kysely } from 'kysely';

/*
 * Billing that finance can trust (issue 19): what the invoice equals, and what keeps paid work from escaping it.
 *
 * - billing_subscriptions: the local copy of each Stripe subscription (status, start and end, anchor, the item
 *   prices), refreshed from Stripe on every subscription event and by the daily reconciliation. It replaces
 *   users.stripe_subscription_id, which kept one id for ever (a canceled subscription blocked a new one).
 * - stored_objects: what was stored, from when until when (upload and deletion times), so that storage is
 *   sampled, back-filled and estimated from what existed at the time. Sessions are followed by a trigger on
 *   sessions.stored_bytes (what the indexer stored: trace, original, screenshots; its updated_at is the time it
 *   was stored), datasets by a trigger on their status (ready: the files' sizes the builder measured); example
 *   files by the sampler's Blob listing (their creation times). Blobs found gone (retention, the lifecycle rule) are closed
 *   by the sampler. It replaces example_storage_totals (bytes now, no history).
 * - storage_listings: when each container was last listed completely (the last time a blob was seen present).
 * - storage_sampler_state: the hour up to which samples are written, for every user at once (hours the timer
 *   missed are those after it).
 * - token_usage / storage_samples: the identifier and timestamp an event was sent with when they are not the
 *   row's own (a resend after Stripe rejected it asynchronously; usage carried into a later period), and when a
 *   row whose error can heal is tried again.
 * - stripe_sync_runs: `completed_with_errors` (a run that rejected, expired or could not place rows).
 * - invoices: Stripe's `uncollectible`; deleted_at (a tombstone, so that a late invoice.created cannot bring a
 *   deleted draft back); the subscription.
 * - billing_period_closes: what each period close found when it compared its usage with Stripe's.
 * - stripe_meter_error_reports: Stripe's asynchronous meter error reports, as received.
 * - stripe_price_meters: which meter (and so which usage) each price bills, so invoice lines are read by meter.
 *
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table billing_subscriptions (
      stripe_subscription_id text primary key,
      user_id uuid not null references users (id) on delete no action,
      status text not null,
      started_at timestamptz not null,
      ended_at timestamptz,
      cancel_at timestamptz,
      billing_cycle_anchor timestamptz not null,
      current_period_start timestamptz,
      current_period_end timestamptz,
      past_due_since timestamptz,
      default_payment_method text,
      tokens_price_id text,
      tokens_unit_amount text,
      storage_price_id text,
      storage_unit_amount text,
      synced_at timestamptz not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint billing_subscriptions_ended_after_start check (ended_at is null or ended_at >= started_at)
    )`.execute(db);
  await sql`create index billing_subscriptions_user_idx on billing_subscriptions (user_id, started_at desc)`.execute(db);
  await sql`
    create trigger billing_subscriptions_set_updated_at before update on billing_subscriptions
    for each row execute function set_updated_at()`.execute(db);
  await sql`alter table users drop column stripe_subscription_id`.execute(db);

  await sql`
    create table stored_objects (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      kind text not null,
      object_id uuid not null,
      bytes bigint not null,
      stored_from timestamptz not null,
      stored_until timestamptz,
      constraint stored_objects_bytes_non_negative check (bytes >= 0),
      constraint stored_objects_ordered check (stored_until is null or stored_until >= stored_from)
    )`.execute(db);
  // One open interval per object; the sampler reads what overlaps an hour, the usage what is open now.
  await sql`create unique index stored_objects_open_key on stored_objects (kind, object_id) where stored_until is null`.execute(db);
  await sql`create index stored_objects_user_idx on stored_objects (user_id, stored_from)`.execute(db);
  await sql`create index stored_objects_until_idx on stored_objects (stored_until)`.execute(db);

  // A session's files are stored from the moment the indexer recorded them (stored_bytes, in the same update as its
  // updated_at) until they are stored anew, cleared or deleted. Whoever writes sessions, the ledger follows.
  await sql`
    create function stored_objects_follow_session() returns trigger language plpgsql as $$
    begin
      if tg_op in ('UPDATE', 'DELETE') and old.stored_bytes > 0
         and (tg_op = 'DELETE' or new.stored_bytes is distinct from old.stored_bytes) then
        update stored_objects
          set stored_until = greatest(stored_from, case when tg_op = 'DELETE' then now() else new.updated_at end)
          where kind = 'session' and object_id = old.id and stored_until is null;
      end if;
      if tg_op in ('INSERT', 'UPDATE') and new.stored_bytes > 0
         and (tg_op = 'INSERT' or new.stored_bytes is distinct from old.stored_bytes) then
        insert into stored_objects (user_id, kind, object_id, bytes, stored_from)
        values (new.user_id, 'session', new.id, new.stored_bytes, new.updated_at);
      end if;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger sessions_stored_objects
    after insert or delete or update of stored_bytes on sessions
    for each row execute function stored_objects_follow_session()`.execute(db);
  // A dataset's files are stored from the moment it is ready (their sizes are set then, once) until its row goes.
  await sql`
    create function stored_objects_follow_dataset() returns trigger language plpgsql as $$
    begin
      if tg_op in ('UPDATE', 'DELETE') and old.status = 'ready' and (tg_op = 'DELETE' or new.status <> 'ready') then
        update stored_objects
          set stored_until = greatest(stored_from, case when tg_op = 'DELETE' then now() else new.updated_at end)
          where kind = 'dataset' and object_id = old.id and stored_until is null;
      end if;
      if tg_op in ('INSERT', 'UPDATE') and new.status = 'ready' and (tg_op = 'INSERT' or old.status <> 'ready') then
        insert into stored_objects (user_id, kind, object_id, bytes, stored_from)
        values (new.user_id, 'dataset', new.id, coalesce(new.train_bytes, 0) + coalesce(new.validation_bytes, 0), new.updated_at);
      end if;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger datasets_stored_objects
    after insert or delete or update of status on datasets
    for each row execute function stored_objects_follow_dataset()`.execute(db);
  // What is stored already: from its last update, the best time the tables know.
  await sql`
    insert into stored_objects (user_id, kind, object_id, bytes, stored_from)
    select user_id, 'session', id, stored_bytes, updated_at from sessions where stored_bytes > 0`.execute(db);
  await sql`
    insert into stored_objects (user_id, kind, object_id, bytes, stored_from)
    select user_id, 'dataset', id, train_bytes + validation_bytes, updated_at from datasets where status = 'ready'`.execute(db);
  await sql`drop table example_storage_totals`.execute(db);

  await sql`
    create table storage_listings (
      container text primary key,
      listed_at timestamptz not null
    )`.execute(db);
  await sql`
    create table storage_sampler_state (
      singleton boolean primary key default true,
      sampled_until timestamptz not null,
      constraint storage_sampler_state_one_row check (singleton),
      constraint storage_sampler_state_whole_hour check (mod(extract(epoch from sampled_until), 3600) = 0)
    )`.execute(db);
  await sql`
    insert into storage_sampler_state (sampled_until)
    select max(hour) + interval '1 hour' from storage_samples having max(hour) is not null`.execute(db);

  for (const table of ['token_usage', 'storage_samples']) {
    await sql`
      alter table ${sql.table(table)}
        add column stripe_identifier text,
        add column stripe_timestamp timestamptz,
        add column stripe_retry_at timestamptz`.execute(db);
  }
  // The estimate's exceptions: rows carried into another period, failed rows, and rows still unsent (the
  // rollup of tokens does not know Stripe; unsent storage of earlier months is carried into the current one).
  await sql`create index token_usage_carried_idx on token_usage (user_id, stripe_timestamp) where stripe_timestamp is not null`.execute(db);
  await sql`create index token_usage_failed_idx on token_usage (user_id, recorded_at) where stripe_failed_at is not null`.execute(db);
  await sql`
    create index token_usage_user_pending_idx on token_usage (user_id, recorded_at)
    where stripe_sent_at is null and stripe_failed_at is null`.execute(db);
  await sql`
    create index storage_samples_carried_idx on storage_samples (user_id, stripe_timestamp)
    where stripe_timestamp is not null`.execute(db);
  await sql`
    create index storage_samples_user_pending_idx on storage_samples (user_id, hour)
    where stripe_sent_at is null and stripe_failed_at is null`.execute(db);

  await sql`alter table stripe_sync_runs drop constraint stripe_sync_runs_outcome_known`.execute(db);
  await sql`
    alter table stripe_sync_runs add constraint stripe_sync_runs_outcome_known check (
      outcome in ('running', 'completed', 'completed_with_errors', 'backed_off', 'waiting_for_configuration',
                  'skipped_locked', 'failed')
    )`.execute(db);

  // PostgreSQL 12+ adds an enum value inside a transaction; it may only be used after the commit (nothing here does).
  await sql`alter type invoice_status add value 'uncollectible' after 'open'`.execute(db);
  await sql`
    alter table invoices
      add column deleted_at timestamptz,
      add column stripe_subscription_id text`.execute(db);
  await sql`create index invoices_user_period_idx on invoices (user_id, period_start desc, id desc) where deleted_at is null`.execute(db);

  await sql`
    create table billing_period_closes (
      stripe_subscription_id text not null,
      period_end timestamptz not null,
      user_id uuid not null references users (id) on delete no action,
      period_start timestamptz not null,
      outcome text not null,
      details jsonb not null default '{}',
      closed_at timestamptz not null default now(),
      constraint billing_period_closes_pkey primary key (stripe_subscription_id, period_end),
      constraint billing_period_closes_outcome_known check (outcome in ('reconciled', 'pending', 'discrepancy', 'late')),
      constraint billing_period_closes_details_object check (jsonb_typeof(details) = 'object')
    )`.execute(db);

  await sql`
    create table stripe_meter_error_reports (
      stripe_event_id text primary key,
      meter_id text,
      validation_start timestamptz,
      validation_end timestamptz,
      error_count integer not null,
      matched_rows integer not null,
      details jsonb not null,
      received_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table stripe_price_meters (
      price_id text primary key,
      meter_id text not null,
      kind text not null,
      constraint stripe_price_meters_kind_known check (kind in ('tokens', 'storage'))
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table stripe_price_meters`.execute(db);
  await sql`drop table stripe_meter_error_reports`.execute(db);
  await sql`drop table billing_period_closes`.execute(db);
  await sql`drop index invoices_user_period_idx`.execute(db);
  await sql`alter table invoices drop column deleted_at, drop column stripe_subscription_id`.execute(db);
  // Enum values cannot be dropped: the type is rebuilt without it (uncollectible reads as open, as before).
  await sql`alter table invoices alter column status drop default`.execute(db);
  await sql`alter type invoice_status rename to invoice_status_0009`.execute(db);
  await sql`create type invoice_status as enum ('draft', 'open', 'paid', 'void')`.execute(db);
  await sql`
    alter table invoices alter column status type invoice_status
    using (case status::text when 'uncollectible' then 'open' else status::text end)::invoice_status`.execute(db);
  await sql`alter table invoices alter column status set default 'draft'`.execute(db);
  await sql`drop type invoice_status_0009`.execute(db);

  await sql`update stripe_sync_runs set outcome = 'completed' where outcome = 'completed_with_errors'`.execute(db);
  await sql`alter table stripe_sync_runs drop constraint stripe_sync_runs_outcome_known`.execute(db);
  await sql`
    alter table stripe_sync_runs add constraint stripe_sync_runs_outcome_known check (
      outcome in ('running', 'completed', 'backed_off', 'waiting_for_configuration', 'skipped_locked', 'failed')
    )`.execute(db);

  await sql`drop index storage_samples_user_pending_idx`.execute(db);
  await sql`drop index storage_samples_carried_idx`.execute(db);
  await sql`drop index token_usage_user_pending_idx`.execute(db);
  await sql`drop index token_usage_failed_idx`.execute(db);
  await sql`drop index token_usage_carried_idx`.execute(db);
  for (const table of ['token_usage', 'storage_samples']) {
    await sql`
      alter table ${sql.table(table)}
        drop column stripe_identifier,
        drop column stripe_timestamp,
        drop column stripe_retry_at`.execute(db);
  }

  await sql`drop table storage_sampler_state`.execute(db);
  await sql`drop table storage_listings`.execute(db);
  await sql`
    create table example_storage_totals (
      user_id uuid primary key references users (id) on delete cascade,
      bytes bigint not null,
      measured_at timestamptz not null,
      constraint example_storage_totals_bytes_non_negative check (bytes >= 0)
    )`.execute(db);
  await sql`
    insert into example_storage_totals (user_id, bytes, measured_at)
    select user_id, sum(bytes), now() from stored_objects
    where kind = 'example' and stored_until is null group by user_id`.execute(db);
  await sql`drop trigger datasets_stored_objects on datasets`.execute(db);
  await sql`drop function stored_objects_follow_dataset()`.execute(db);
  await sql`drop trigger sessions_stored_objects on sessions`.execute(db);
  await sql`drop function stored_objects_follow_session()`.execute(db);
  await sql`drop table stored_objects`.execute(db);

  await sql`alter table users add column stripe_subscription_id text`.execute(db);
  await sql`
    update users u set stripe_subscription_id = s.stripe_subscription_id
    from (select distinct on (user_id) user_id, stripe_subscription_id from billing_subscriptions
          order by user_id, started_at desc) s
    where s.user_id = u.id`.execute(db);
  await sql`drop table billing_subscriptions`.execute(db);
}
