import { sql, type Kysely } from 'kysely';

/*
 * Metering and billing: token usage per example, hourly storage samples, both sent to Stripe as meter events
 * (unsent rows found through partial indexes); invoices mirrored from Stripe; and the Stripe events already handled,
 * so that a redelivered webhook is a no-op.
 *
 * Migrations take Kysely<any> on purpose: they must keep working as the Database type evolves, so they may not
 * depend on it (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create type invoice_status as enum ('draft', 'open', 'paid', 'void')`.execute(db);

  // example_id is unique: usage is recorded once per example, whatever the pipelines service repeats.
  await sql`
    create table token_usage (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete no action,
      example_id uuid not null references examples (id) on delete no action,
      suite_id uuid not null references suites (id) on delete no action,
      model_id uuid not null references models (id) on delete no action,
      input_tokens bigint not null,
      output_tokens bigint not null,
      recorded_at timestamptz not null default now(),
      stripe_sent_at timestamptz,
      stripe_error text,
      stripe_attempts integer not null default 0,
      constraint token_usage_example_id_key unique (example_id),
      constraint token_usage_input_tokens_non_negative check (input_tokens >= 0),
      constraint token_usage_output_tokens_non_negative check (output_tokens >= 0),
      constraint token_usage_stripe_attempts_non_negative check (stripe_attempts >= 0)
    )`.execute(db);
  await sql`
    create index token_usage_unsent_idx on token_usage (recorded_at, id) where stripe_sent_at is null`.execute(db);
  await sql`create index token_usage_user_recorded_at_idx on token_usage (user_id, recorded_at)`.execute(db);

  // hour must be a whole UTC hour; epoch arithmetic keeps the check independent of the session's TimeZone.
  await sql`
    create table storage_samples (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete no action,
      hour timestamptz not null,
      bytes bigint not null,
      created_at timestamptz not null default now(),
      stripe_sent_at timestamptz,
      stripe_error text,
      stripe_attempts integer not null default 0,
      constraint storage_samples_user_id_hour_key unique (user_id, hour),
      constraint storage_samples_hour_whole check (mod(extract(epoch from hour), 3600) = 0),
      constraint storage_samples_bytes_non_negative check (bytes >= 0),
      constraint storage_samples_stripe_attempts_non_negative check (stripe_attempts >= 0)
    )`.execute(db);
  await sql`
    create index storage_samples_unsent_idx on storage_samples (hour, id) where stripe_sent_at is null`.execute(db);

  await sql`
    create table invoices (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete no action,
      stripe_invoice_id text not null,
      period_start timestamptz not null,
      period_end timestamptz not null,
      tokens_consumed bigint not null default 0,
      storage_gb_hours numeric not null default 0,
      total_amount bigint not null default 0,
      currency text not null,
      status invoice_status not null default 'draft',
      paid_at timestamptz,
      stripe_invoice_url text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint invoices_stripe_invoice_id_key unique (stripe_invoice_id),
      constraint invoices_period_ordered check (period_end >= period_start),
      constraint invoices_tokens_consumed_non_negative check (tokens_consumed >= 0),
      constraint invoices_storage_gb_hours_non_negative check (storage_gb_hours >= 0),
      constraint invoices_currency_iso check (currency ~ '^[a-z]{3}$')
    )`.execute(db);
  await sql`create index invoices_user_idx on invoices (user_id, created_at desc, id desc)`.execute(db);
  await sql`
    create trigger invoices_set_updated_at before update on invoices
    for each row execute function set_updated_at()`.execute(db);

  await sql`
    create table stripe_webhook_events (
      id text primary key,
      type text not null,
      received_at timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table stripe_webhook_events`.execute(db);
  await sql`drop table invoices`.execute(db);
  await sql`drop table storage_samples`.execute(db);
  await sql`drop table token_usage`.execute(db);
  await sql`drop type invoice_status`.execute(db);
}
