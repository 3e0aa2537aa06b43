import { sql, type Kysely } from 'kysely';

/*
 * Datasets: many completed examples in one provider's fine-tuning format, built in the background.
 *
 * - datasets: one row per dataset, owned by a user. The filters are kept as given (suite_id, session_ids, model_id,
 *   created_after, created_before), and so is the suite restriction of the key that asked (allowed_suite_ids), so a
 *   rebuild after a crash sees exactly what the request could see. The filters are not foreign keys: a suite or
 *   model deleted later must not change what the dataset was. Counts, file sizes and digests are set once `ready`.
 * - dataset_examples: the work list of a build, written in one INSERT ... SELECT that deduplicates, shuffles by
 *   the seed and assigns the split inside PostgreSQL (so the function never holds the list), then read by
 *   position. Emptied when the build ends.
 * - examples.conversation_sha256: the digest of the normalized conversation, written when an example is
 *   COMPLETED; datasets deduplicate on it (examples completed before this migration get it on their first build).
 * - a2p_tasks.dataset_id: the dataset a build-dataset task follows.
 *
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

const FORMATS = ['openai', 'vertex', 'anthropic', 'trl'];
const STATUSES = ['building', 'ready', 'failed'];
const literals = (values: string[]) => sql.join(values.map((value) => sql.lit(value)));

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table datasets (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete no action,
      name text not null,
      format text not null,
      status text not null default 'building',
      suite_id uuid,
      session_ids uuid[],
      model_id uuid,
      created_after timestamptz,
      created_before timestamptz,
      allowed_suite_ids uuid[],
      validation_split double precision not null default 0,
      seed bigint not null,
      dedupe boolean not null default true,
      matched_count integer,
      duplicate_count integer,
      skipped_count integer,
      train_count integer,
      validation_count integer,
      train_bytes bigint,
      validation_bytes bigint,
      train_sha256 text,
      validation_sha256 text,
      lint jsonb,
      error text,
      build_attempts integer not null default 0,
      heartbeat_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      completed_at timestamptz,
      constraint datasets_name_length check (length(name) between 1 and 100),
      constraint datasets_format_known check (format in (${literals(FORMATS)})),
      constraint datasets_status_known check (status in (${literals(STATUSES)})),
      constraint datasets_validation_split_range check (validation_split >= 0 and validation_split <= 0.5),
      constraint datasets_seed_range check (seed >= 0),
      constraint datasets_created_range check (created_after is null or created_before is null or created_after < created_before),
      constraint datasets_sha256_hex check (train_sha256 ~ '^[0-9a-f]{64}$' and validation_sha256 ~ '^[0-9a-f]{64}$'),
      constraint datasets_lint_object check (jsonb_typeof(lint) = 'object'),
      constraint datasets_ready_is_measured check (
        status <> 'ready' or (
          train_count is not null and validation_count is not null and train_bytes is not null
          and validation_bytes is not null and train_sha256 is not null and validation_sha256 is not null
          and lint is not null
        )
      ),
      constraint datasets_failed_has_error check (status <> 'failed' or error is not null)
    )`.execute(db);
  await sql`create index datasets_user_idx on datasets (user_id, created_at desc, id desc)`.execute(db);
  // What the stalled-build timer scans.
  await sql`create index datasets_building_idx on datasets (heartbeat_at) where status = 'building'`.execute(db);
  await sql`
    create trigger datasets_set_updated_at before update on datasets
    for each row execute function set_updated_at()`.execute(db);

  await sql`
    create table dataset_examples (
      dataset_id uuid not null references datasets (id) on delete cascade,
      position integer not null,
      example_id uuid not null references examples (id) on delete cascade,
      split text not null,
      primary key (dataset_id, position),
      constraint dataset_examples_split_known check (split in ('train', 'validation'))
    )`.execute(db);
  // Serves the cascade when an example is deleted.
  await sql`create index dataset_examples_example_id_idx on dataset_examples (example_id)`.execute(db);

  await sql`alter table examples add column conversation_sha256 text`.execute(db);
  await sql`
    alter table examples add constraint examples_conversation_sha256_hex
    check (conversation_sha256 ~ '^[0-9a-f]{64}$')`.execute(db);

  await sql`alter table a2p_tasks add column dataset_id uuid references datasets (id) on delete set null`.execute(db);
  await sql`create index a2p_tasks_dataset_id_idx on a2p_tasks (dataset_id) where dataset_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table a2p_tasks drop column dataset_id`.execute(db);
  await sql`alter table examples drop column conversation_sha256`.execute(db);
  await sql`drop table dataset_examples`.execute(db);
  await sql`drop table datasets`.execute(db);
}
