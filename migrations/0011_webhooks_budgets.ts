import { sql, type Kysely } from 'kysely';

/*
 * Webhooks and budgets (issue 21).
 *
 * - webhook_endpoints: where a user wants events sent (url, the event types, a description), the signing secret
 *   (kept as is: every delivery signs with it, so it cannot be a one-way hash), and whether it is enabled. An endpoint
 *   that failed every delivery for 3 days is disabled by the deliverer, with the reason; failing_since is the first
 *   failure since its last success.
 * - webhook_events: the outbox. One row per event, written in the same transaction as the state change it reports
 *   (a session indexed, an example finished, ...), so that a crash can lose the change and its event together but
 *   never one without the other. `data` is the resource as the REST API returns it.
 * - webhook_deliveries: one row per event and endpoint, written with the event (the endpoints subscribed then).
 *   next_attempt_at is when the deliverer tries next (null once delivered or failed); a claimed delivery has it
 *   pushed past the attempt's timeout, a lease, so that a deliverer that dies mid-call is replaced, never doubled
 *   while alive. retry_until is the end of the retry window (24 hours from the first try or a redelivery).
 * - budgets: a monthly limit in minor units of the billing currency (null: none), hard or soft, alert thresholds.
 * - budget_threshold_emissions: a threshold crossed in a period, once: its primary key is what makes the
 *   usage.budget_threshold event once per period and threshold.
 *
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table webhook_endpoints (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      url text not null,
      events text[] not null,
      description text,
      secret text not null,
      enabled boolean not null default true,
      disabled_reason text,
      failing_since timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint webhook_endpoints_events_present check (cardinality(events) > 0),
      constraint webhook_endpoints_url_length check (length(url) <= 2048)
    )`.execute(db);
  await sql`create index webhook_endpoints_user_idx on webhook_endpoints (user_id, created_at desc, id desc)`.execute(db);
  await sql`
    create trigger webhook_endpoints_set_updated_at before update on webhook_endpoints
    for each row execute function set_updated_at()`.execute(db);

  await sql`
    create table webhook_events (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      type text not null,
      data jsonb not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index webhook_events_user_idx on webhook_events (user_id, created_at)`.execute(db);

  await sql`
    create table webhook_deliveries (
      id uuid primary key default gen_random_uuid(),
      event_id uuid not null references webhook_events (id) on delete cascade,
      endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
      attempts integer not null default 0,
      next_attempt_at timestamptz default now(),
      retry_until timestamptz,
      last_status integer,
      last_error text,
      latency_ms integer,
      delivered_at timestamptz,
      failed_at timestamptz,
      created_at timestamptz not null default now(),
      constraint webhook_deliveries_once unique (event_id, endpoint_id)
    )`.execute(db);
  // The deliverer's question: what is due now (a partial index holds only the pending rows).
  await sql`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where next_attempt_at is not null`.execute(db);
  await sql`create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at desc, id desc)`.execute(db);

  await sql`
    create table budgets (
      user_id uuid primary key references users (id) on delete cascade,
      monthly_limit bigint,
      currency text not null,
      hard_limit boolean not null default false,
      alert_thresholds double precision[] not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint budgets_limit_non_negative check (monthly_limit is null or monthly_limit >= 0)
    )`.execute(db);
  await sql`
    create trigger budgets_set_updated_at before update on budgets
    for each row execute function set_updated_at()`.execute(db);

  await sql`
    create table budget_threshold_emissions (
      user_id uuid not null references users (id) on delete cascade,
      period_start timestamptz not null,
      threshold double precision not null,
      event_id uuid references webhook_events (id) on delete set null,
      emitted_at timestamptz not null default now(),
      constraint budget_threshold_emissions_pkey primary key (user_id, period_start, threshold)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table budget_threshold_emissions`.execute(db);
  await sql`drop table budgets`.execute(db);
  await sql`drop table webhook_deliveries`.execute(db);
  await sql`drop table webhook_events`.execute(db);
  await sql`drop table webhook_endpoints`.execute(db);
}
