import { sql, type Kysely } from 'kysely';

/*
 * Real recordings (issue 15): uploads of several formats land in a staging container and are converted into one
 * canonical trace, so a session now records
 * - how it was uploaded: the format the client named (if any), the file name, which upload URL is current
 *   (`upload_attempt`: each URL names a staging blob of its own), how it came (`upload_method`, which sets the
 *   size limits), whether invalid events may be skipped, and which blob version an indexing run has claimed;
 * - what indexing found: the format, the clock (absolute, or relative when the source has no wall time), the first
 *   and last event as timestamps, counts of screenshots, tabs, URLs, dropped and skipped events, the canonical
 *   trace's own size and sha256, whether the original upload was kept, and the bytes stored for it all
 *   (`stored_bytes`, what storage metering sums: trace, original and screenshots).
 * Sessions indexed before this migration hold their upload as it was, in the original line form: they are
 * described as such (tracepipe-jsonl, absolute clock, the upload's own size and digest).
 *
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

const FORMATS = ['recorder-jsonl', 'tracepipe-jsonl', 'chrome-trace', 'recorder-bundle', 'rrweb'];

export async function up(db: Kysely<any>): Promise<void> {
  const formats = sql.join(FORMATS.map((format) => sql.lit(format)));
  await sql`
    alter table sessions
      add column format text,
      add column requested_format text,
      add column skip_invalid_lines boolean not null default false,
      add column upload_attempt integer not null default 1,
      add column upload_file_name text,
      add column upload_method text not null default 'url',
      add column indexing_etag text,
      add column clock text,
      add column first_event_at timestamptz,
      add column last_event_at timestamptz,
      add column screenshot_count integer,
      add column tab_count integer,
      add column url_count integer,
      add column dropped_event_count bigint,
      add column skipped_event_count bigint,
      add column canonical_size_bytes bigint,
      add column canonical_sha256 text,
      add column original_file_name text,
      add column stored_bytes bigint not null default 0,
      add constraint sessions_format_known check (format in (${formats})),
      add constraint sessions_requested_format_known check (requested_format in (${formats})),
      add constraint sessions_clock_known check (clock in ('absolute', 'relative')),
      add constraint sessions_upload_method_known check (upload_method in ('url', 'multipart', 'inline')),
      add constraint sessions_upload_attempt_positive check (upload_attempt >= 1),
      add constraint sessions_canonical_sha256_hex check (canonical_sha256 ~ '^[0-9a-f]{64}$'),
      add constraint sessions_counts_non_negative check (
        screenshot_count >= 0 and tab_count >= 0 and url_count >= 0 and dropped_event_count >= 0
        and skipped_event_count >= 0 and canonical_size_bytes >= 0 and stored_bytes >= 0
      )`.execute(db);
  await sql`update sessions set upload_file_name = 'input_events.jsonl'`.execute(db);
  await sql`
    update sessions set
      format = 'tracepipe-jsonl',
      clock = 'absolute',
      first_event_at = to_timestamp(first_event_ts / 1e6),
      last_event_at = to_timestamp(last_event_ts / 1e6),
      canonical_size_bytes = size_bytes,
      canonical_sha256 = sha256,
      stored_bytes = coalesce(size_bytes, 0)
    where status = 'ready'`.execute(db);
  await sql`
    alter table sessions
      alter column upload_file_name set not null,
      alter column upload_file_name set default 'input_events.jsonl',
      add constraint sessions_upload_file_name_safe check (upload_file_name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
      add constraint sessions_ready_is_canonical check (
        status <> 'ready' or (format is not null and clock is not null and canonical_sha256 is not null
          and canonical_size_bytes is not null)
      )`.execute(db);
  // The live stored bytes of a user's sessions (storage metering), index-only.
  await sql`
    create index sessions_user_stored_idx on sessions (user_id) include (stored_bytes)
    where stored_bytes > 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index sessions_user_stored_idx`.execute(db);
  await sql`
    alter table sessions
      drop constraint sessions_ready_is_canonical,
      drop column format,
      drop column requested_format,
      drop column skip_invalid_lines,
      drop column upload_attempt,
      drop column upload_file_name,
      drop column upload_method,
      drop column indexing_etag,
      drop column clock,
      drop column first_event_at,
      drop column last_event_at,
      drop column screenshot_count,
      drop column tab_count,
      drop column url_count,
      drop column dropped_event_count,
      drop column skipped_event_count,
      drop column canonical_size_bytes,
      drop column canonical_sha256,
      drop column original_file_name,
      drop column stored_bytes`.execute(db);
}
