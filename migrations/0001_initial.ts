import { sql, type Kysely } from 'kysely';

/*
 * Users, their API keys and the keys' rate-limit counters, plus the updated_at trigger function that later
 * migrations attach to every table whose rows change.
 *
 * Migrations take Kysely<any> on purpose: they must keep working as the Database type evolves, so they may not
 * depend on it (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  // Explicit updates that set updated_at keep their value; any other update stamps now(), so no repository can
  // forget it.
  await sql`
    create function set_updated_at() returns trigger language plpgsql as $$
    begin
      if new.updated_at is not distinct from old.updated_at then
        new.updated_at := now();
      end if;
      return new;
    end
    $$`.execute(db);

  await sql`
    create table users (
      id uuid primary key default gen_random_uuid(),
      display_name text not null,
      email text,
      external_issuer text,
      external_subject text,
      stripe_customer_id text,
      default_payment_method_id text,
      scopes text[] not null default '{api}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint users_external_identity_key unique (external_issuer, external_subject),
      constraint users_scopes_known check (
        cardinality(scopes) > 0 and scopes <@ array['api', 'catalog:write', 'pipeline']::text[]
      ),
      constraint users_external_identity_complete check ((external_issuer is null) = (external_subject is null)),
      constraint users_stripe_customer_id_key unique (stripe_customer_id)
    )`.execute(db);
  await sql`
    create trigger users_set_updated_at before update on users
    for each row execute function set_updated_at()`.execute(db);

  // key_hash is looked up on every request (unique index) and must be a hex HMAC digest: the check keeps a raw
  // secret from ever being stored by mistake.
  await sql`
    create table api_keys (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      name text not null default '',
      prefix text not null,
      key_hash text not null,
      scopes text[] not null default '{api}',
      suite_ids uuid[],
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz,
      constraint api_keys_key_hash_key unique (key_hash),
      constraint api_keys_key_hash_hex check (key_hash ~ '^[0-9a-f]{64}$'),
      constraint api_keys_scopes_known check (
        cardinality(scopes) > 0 and scopes <@ array['api', 'catalog:write', 'pipeline']::text[]
      )
    )`.execute(db);
  await sql`
    create index api_keys_user_active_idx on api_keys (user_id, created_at desc, id desc)
    where revoked_at is null`.execute(db);

  // The subject is an API key id, or a user id for the storefront's Bearer requests; no foreign key, as it names
  // either (uuids never collide), and counters outlive nothing: a timer purges old windows. UNLOGGED: every
  // request writes here, and skipping the WAL makes that write cheap; a crash empties the table, which only
  // restarts the current minute's counts.
  await sql`
    create unlogged table rate_limit_counters (
      subject_id uuid not null,
      bucket text not null,
      window_start timestamptz not null,
      count integer not null,
      constraint rate_limit_counters_pkey primary key (subject_id, bucket, window_start),
      constraint rate_limit_counters_count_non_negative check (count >= 0)
    )`.execute(db);
  // Old windows are purged by time.
  await sql`create index rate_limit_counters_window_start_idx on rate_limit_counters (window_start)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table rate_limit_counters`.execute(db);
  await sql`drop table api_keys`.execute(db);
  await sql`drop table users`.execute(db);
  await sql`drop function set_updated_at()`.execute(db);
}
