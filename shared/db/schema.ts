import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/*
 * The database as Kysely sees it: one interface per table, named in `Database` below. The tables themselves are
 * created by migrations/ (which deliberately do not import this file); test/integration/migrations.test.ts checks that the
 * enum arrays here still match the enum types in the database.
 *
 * Column conventions:
 * - timestamptz reads as Date (node-postgres parses it) and accepts a Date or an ISO string on write.
 * - bigint reads as number: shared/db/database.ts installs an int8 parser, since every count we store is far
 *   below 2^53. numeric stays a string (exact decimal), and accepts a number or string on write.
 * - jsonb reads as the parsed value but must be written as JSON text (`JSON.stringify(value)`): node-postgres
 *   would turn a JS array into a PostgreSQL array literal, not JSON. Hence the jsonb column types take a string on write.
 * - text[] and uuid[] read and write as string[].
 * - `updated_at` is maintained by a trigger (set_updated_at) when an UPDATE does not set it itself.
 */

export const PARAMETER_TYPES = ['STRING', 'NUMBER', 'BOOLEAN', 'OBJECT', 'ARRAY'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export const MODEL_PROVIDERS = ['OPENAI', 'ANTHROPIC', 'VERTEXAI', 'CUSTOM'] as const;
export type ModelProvider = (typeof MODEL_PROVIDERS)[number];

/** `expired`: retention removed its files; `deleted`: its owner deleted it. Both keep the row (0010). */
export const SESSION_STATUSES = ['awaiting_upload', 'processing', 'ready', 'invalid', 'expired', 'deleted'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const EXAMPLE_STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'] as const;
export type ExampleStatus = (typeof EXAMPLE_STATUSES)[number];

export const INVOICE_STATUSES = ['draft', 'open', 'uncollectible', 'paid', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

/** Enforced by the check constraint api_keys_scopes_known (non-empty, every element one of these). */
export const API_KEY_SCOPES = ['api', 'catalog:write', 'pipeline'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * One entry of sessions.validation_errors: the indexer keeps the first few, each with where it is: a line of a
 * JSON Lines upload (0: the upload as a whole), an event's index in a JSON document, or a bundle's entry name.
 */
export type SessionValidationError = { message: string } & ({ line: number } | { index: number } | { entry: string });

export const TRACE_CLOCKS = ['absolute', 'relative'] as const;
export type TraceClockKind = (typeof TRACE_CLOCKS)[number];

/** How a session's upload came: it sets the size limits (SAS uploads are larger than multipart and inline ones). */
export const UPLOAD_METHODS = ['url', 'multipart', 'inline'] as const;
export type UploadMethod = (typeof UPLOAD_METHODS)[number];

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type DefaultedNumeric = ColumnType<string, number | string | undefined, number | string>;
type Jsonb<T> = ColumnType<T, string, string>;
type DefaultedJsonb<T> = ColumnType<T, string | undefined, string>;
type NullableJsonb<T> = ColumnType<T | null, string | null, string | null>;

export interface UsersTable {
  id: Generated<string>;
  display_name: string;
  email: string | null;
  /** Entra External ID issuer (`iss`) and subject (`oid`, else `sub`); both set or both null, unique as a pair. */
  external_issuer: string | null;
  external_subject: string | null;
  stripe_customer_id: string | null;
  /** The Stripe customer's default payment method (invoice_settings.default_payment_method), mirrored. */
  default_payment_method_id: string | null;
  /** `created` of the Stripe event that last set default_payment_method_id (0005). */
  payment_method_event_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** What the user may grant to keys: `api` for everyone; the others by an operator. */
  scopes: Generated<ApiKeyScope[]>;
  /** Set when DELETE /v1/users/me anonymised the row (0010). */
  erased_at: NullableTimestamp;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface ApiKeysTable {
  id: Generated<string>;
  user_id: string;
  name: Generated<string>;
  /** The masked secret shown in lists (maskApiKeySecret). */
  prefix: string;
  /** hashApiKeySecret(secret, server secret): 64 lowercase hex characters, never the secret itself. */
  key_hash: string;
  scopes: Generated<ApiKeyScope[]>;
  /** null: every suite. Not a foreign key (arrays cannot be), so services check the ids when a key is created. */
  suite_ids: string[] | null;
  created_at: DefaultedTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface RateLimitCountersTable {
  /** An API key id, or a user id for Bearer requests. */
  subject_id: string;
  bucket: string;
  window_start: Timestamp;
  count: number;
}

export interface SuitesTable {
  id: Generated<string>;
  name: string;
  description: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface ActionsTable {
  id: Generated<string>;
  suite_id: string;
  name: string;
  description: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface ActionParametersTable {
  id: Generated<string>;
  action_id: string;
  name: string;
  type: ParameterType;
  required: Generated<boolean>;
  description: string | null;
  position: Generated<number>;
  created_at: DefaultedTimestamp;
}

export interface McpServersTable {
  id: Generated<string>;
  name: string;
  description: string | null;
  url: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface ToolsTable {
  id: Generated<string>;
  mcp_server_id: string;
  name: string;
  description: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface ToolParametersTable {
  id: Generated<string>;
  tool_id: string;
  name: string;
  type: ParameterType;
  required: Generated<boolean>;
  description: string | null;
  position: Generated<number>;
  created_at: DefaultedTimestamp;
}

export interface ActionToolMapsTable {
  id: Generated<string>;
  suite_id: string;
  mcp_server_id: string;
  name: string | null;
  description: string | null;
  created_at: DefaultedTimestamp;
}

export interface ActionToolMappingsTable {
  id: Generated<string>;
  action_tool_map_id: string;
  action_id: string;
  tool_id: string;
  created_at: DefaultedTimestamp;
}

export interface ActionToolParameterMappingsTable {
  id: Generated<string>;
  action_tool_mapping_id: string;
  action_parameter_id: string;
  tool_parameter_id: string;
  created_at: DefaultedTimestamp;
}

export interface ModelsTable {
  id: Generated<string>;
  provider: ModelProvider;
  name: string;
  display_name: string | null;
  created_at: DefaultedTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  suite_id: string;
  description: string | null;
  storage_path: string;
  status: Generated<SessionStatus>;
  size_bytes: number | null;
  event_count: number | null;
  /** Events counted by their action. */
  event_counts: NullableJsonb<Record<string, number>>;
  /** Of the upload: 64 lowercase hex characters. A `ready` session always has size_bytes, event_count and sha256. */
  sha256: string | null;
  /** Earliest and latest event time, in microseconds on the session's clock (see `clock`). */
  first_event_ts: number | null;
  last_event_ts: number | null;
  validation_errors: DefaultedJsonb<SessionValidationError[]>;
  /** ETag of the staging blob version last indexed: a re-delivered blob event with this ETag is a no-op. */
  indexed_etag: string | null;
  /** The format indexing found (a TraceFormat), and the one the client named at creation, if any. */
  format: string | null;
  requested_format: string | null;
  skip_invalid_lines: Generated<boolean>;
  /** The current upload URL's number: its staging blob is `<id>/<attempt>/<upload_file_name>`. */
  upload_attempt: Generated<number>;
  upload_file_name: ColumnType<string, string | undefined, string>;
  upload_method: Generated<UploadMethod>;
  /** The staging blob version an indexing run is working on; a run for another version stops. */
  indexing_etag: string | null;
  clock: TraceClockKind | null;
  /** Wall-clock time of the first and last event: null unless the clock is absolute. */
  first_event_at: NullableTimestamp;
  last_event_at: NullableTimestamp;
  screenshot_count: number | null;
  tab_count: number | null;
  url_count: number | null;
  dropped_event_count: number | null;
  skipped_event_count: number | null;
  canonical_size_bytes: number | null;
  canonical_sha256: string | null;
  /** The file name the upload is kept under in `original/`, when it was not already canonical. */
  original_file_name: string | null;
  /** Bytes stored for the session (trace, original, screenshots): what storage metering sums. */
  stored_bytes: Generated<number>;
  /** Values the indexer masked (passwords, and the user's redaction rules), in all and by rule (0010). */
  redactions: Generated<number>;
  redaction_counts: DefaultedJsonb<Record<string, number>>;
  /** When its files stopped being stored: deleted by its owner (or an erasure), or by retention (0010). */
  deleted_at: NullableTimestamp;
  expired_at: NullableTimestamp;
  /** When the files of a deleted or expired session were all removed (until then the lifecycle run retries). */
  purged_at: NullableTimestamp;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface ExamplesTable {
  id: Generated<string>;
  /** Owner; with suite_id it must match the session's (composite foreign key), so filters need no join. */
  user_id: string;
  session_id: string;
  suite_id: string;
  model_id: string;
  /** Must be a map of the session's suite (composite foreign key on (action_tool_map_id, suite_id)). */
  action_tool_map_id: string;
  model_configuration: DefaultedJsonb<JsonObject>;
  storage_path: string;
  status: Generated<ExampleStatus>;
  error: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  idempotency_key: string | null;
  /** sha256 of the creating request, so a reused Idempotency-Key with another request is refused. */
  idempotency_fingerprint: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  /** Set only in a final state (COMPLETED or FAILED). */
  completed_at: NullableTimestamp;
  /** sha256 of the normalized conversation, set at COMPLETED (0008); datasets deduplicate on it. */
  conversation_sha256: ColumnType<string | null, string | null | undefined, string | null>;
  /** Deleted (by its owner, with its session, by retention or an erasure): the messages file is gone (0010). */
  deleted_at: NullableTimestamp;
  /** When its files were all removed (until then the lifecycle run retries). */
  purged_at: NullableTimestamp;
}

/** Jobs for the pipelines service not yet on the queue (see migrations/0003). */
export interface ExampleJobOutboxTable {
  example_id: string;
  payload: Jsonb<JsonObject>;
  attempts: Generated<number>;
  last_error: string | null;
  next_attempt_at: DefaultedTimestamp;
  created_at: DefaultedTimestamp;
}

export interface TokenUsageTable {
  id: Generated<string>;
  user_id: string;
  /** Unique: usage is recorded once per example. */
  example_id: string;
  suite_id: string;
  model_id: string;
  input_tokens: number;
  output_tokens: number;
  recorded_at: DefaultedTimestamp;
  stripe_sent_at: NullableTimestamp;
  stripe_error: string | null;
  stripe_attempts: Generated<number>;
  /** First call to Stripe whose outcome may be unknown; the row is in doubt from then until it is sent (0005). */
  stripe_attempted_at: NullableTimestamp;
  /** A permanent failure (see stripe_error); the sync leaves the row alone from then on (0005). */
  stripe_failed_at: NullableTimestamp;
  /** What the sync decided for the row, e.g. `sent`, `already_in_stripe`, `expired` (0005; STRIPE_RESOLUTIONS). */
  stripe_resolution: string | null;
  /** The identifier sent, when not the row's own (a resend after an asynchronous rejection) (0009). */
  stripe_identifier: ColumnType<string | null, string | null | undefined, string | null>;
  /** The event timestamp sent, when not the row's own (carried into a later period) (0009). */
  stripe_timestamp: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** A rejection that can heal (an archived meter): tried again from this time on (0009). */
  stripe_retry_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface StorageSamplesTable {
  id: Generated<string>;
  user_id: string;
  /** Start of the hour sampled (whole hour, checked); unique per user. */
  hour: Timestamp;
  bytes: number;
  created_at: DefaultedTimestamp;
  stripe_sent_at: NullableTimestamp;
  stripe_error: string | null;
  stripe_attempts: Generated<number>;
  /** First call to Stripe whose outcome may be unknown; the row is in doubt from then until it is sent (0005). */
  stripe_attempted_at: NullableTimestamp;
  /** A permanent failure (see stripe_error); the sync leaves the row alone from then on (0005). */
  stripe_failed_at: NullableTimestamp;
  /** What the sync decided for the row, e.g. `sent`, `already_in_stripe`, `expired` (0005; STRIPE_RESOLUTIONS). */
  stripe_resolution: string | null;
  /** The identifier sent, when not the row's own (a resend after an asynchronous rejection) (0009). */
  stripe_identifier: ColumnType<string | null, string | null | undefined, string | null>;
  /** The event timestamp sent, when not the row's own (carried into a later period) (0009). */
  stripe_timestamp: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** A rejection that can heal (an archived meter): tried again from this time on (0009). */
  stripe_retry_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface InvoicesTable {
  id: Generated<string>;
  user_id: string;
  stripe_invoice_id: string;
  period_start: Timestamp;
  period_end: Timestamp;
  tokens_consumed: Generated<number>;
  storage_gb_hours: DefaultedNumeric;
  /** Minor units (cents), as Stripe reports them. */
  total_amount: Generated<number>;
  /** Lowercase ISO 4217, as Stripe spells it (`usd`). */
  currency: string;
  status: Generated<InvoiceStatus>;
  paid_at: NullableTimestamp;
  stripe_invoice_url: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  /** `created` of the Stripe event that last wrote this row: older events delivered late do not apply (0005). */
  stripe_event_at: NullableTimestamp;
  /** Set by invoice.deleted: the row stays as a tombstone (a late invoice.created cannot revive it) (0009). */
  deleted_at: NullableTimestamp;
  stripe_subscription_id: string | null;
}

/**
 * The unsent, not failed usage rows of a kind, the Stripe sync's work list; and (`*_carried`) the rows carried into
 * another period, with the timestamp they are sent with. Kept by triggers on the usage table (0015), never written
 * by the app.
 */
export interface TokenUsageUnsentTable {
  id: string;
  user_id: string;
  recorded_at: Timestamp;
}

export interface StorageSamplesUnsentTable {
  id: string;
  user_id: string;
  hour: Timestamp;
}

export interface TokenUsageCarriedTable extends TokenUsageUnsentTable {
  carried_to: Timestamp;
  /** The row's, kept by the trigger with its sync state (0016): what the usage estimate reads of a carried row. */
  suite_id: string;
  /** input_tokens + output_tokens. */
  amount: number;
  sent: boolean;
  failed: boolean;
  attempted: boolean;
  resolution: string | null;
}

export interface StorageSamplesCarriedTable extends StorageSamplesUnsentTable {
  carried_to: Timestamp;
}

/** Token usage summed per user, UTC day, suite and model; maintained by triggers on token_usage (0005). */
export interface TokenUsageDailyTable {
  user_id: string;
  day: ColumnType<string, string, string>;
  suite_id: string;
  model_id: string;
  input_tokens: number;
  output_tokens: number;
  examples: number;
}

/**
 * What was stored from when until when (0009): sessions' traces (kept by a trigger on sessions.size_bytes) and
 * example files (kept by the storage sampler's Blob listing). Storage is billed from these intervals.
 */
export interface StoredObjectsTable {
  id: Generated<string>;
  user_id: string;
  /** `session`, `example` (each kind names its object's table). */
  kind: string;
  object_id: string;
  bytes: number;
  stored_from: Timestamp;
  /** null while stored. */
  stored_until: NullableTimestamp;
}

/** When a container was last listed completely: the last time its blobs were seen (0009). */
export interface StorageListingsTable {
  container: string;
  listed_at: Timestamp;
}

/** The hour up to which storage samples are written, for all users (0009; one row). */
export interface StorageSamplerStateTable {
  singleton: Generated<boolean>;
  sampled_until: Timestamp;
}

/** The local copy of a Stripe subscription, refreshed from Stripe (0009). */
export interface BillingSubscriptionsTable {
  stripe_subscription_id: string;
  user_id: string;
  /** Stripe's status: active, past_due, canceled, unpaid, ... */
  status: string;
  started_at: Timestamp;
  /** When it ended (canceled); null while it runs. */
  ended_at: NullableTimestamp;
  cancel_at: NullableTimestamp;
  billing_cycle_anchor: Timestamp;
  current_period_start: NullableTimestamp;
  current_period_end: NullableTimestamp;
  /** When it was first seen past_due (the grace runs from here); null unless past_due. */
  past_due_since: NullableTimestamp;
  /** The subscription's own payment method: kept null, the customer's default is the one source. */
  default_payment_method: string | null;
  tokens_price_id: string | null;
  /** Minor units per token, as Stripe's decimal string. */
  tokens_unit_amount: string | null;
  storage_price_id: string | null;
  /** Minor units per KB-hour, as Stripe's decimal string. */
  storage_unit_amount: string | null;
  /** When this state was read from Stripe: an older read never overwrites a newer one. */
  synced_at: Timestamp;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** What closing a period found when comparing the usage sent with Stripe's summaries (0009). */
export interface BillingPeriodClosesTable {
  stripe_subscription_id: string;
  period_end: Timestamp;
  user_id: string;
  period_start: Timestamp;
  outcome: 'reconciled' | 'pending' | 'discrepancy' | 'late';
  details: DefaultedJsonb<JsonObject>;
  closed_at: DefaultedTimestamp;
}

/** Stripe's asynchronous meter error reports, as received (0009). */
export interface StripeMeterErrorReportsTable {
  stripe_event_id: string;
  meter_id: string | null;
  validation_start: NullableTimestamp;
  validation_end: NullableTimestamp;
  error_count: number;
  /** How many of the sampled errors named a usage row of ours. */
  matched_rows: number;
  details: Jsonb<JsonObject>;
  received_at: DefaultedTimestamp;
}

/** The meter each price bills (learned from Stripe), so that invoice lines are read by meter (0009). */
export interface StripePriceMetersTable {
  price_id: string;
  meter_id: string;
  kind: 'tokens' | 'storage';
}

export const STRIPE_SYNC_OUTCOMES = [
  'running',
  'completed',
  'completed_with_errors',
  'backed_off',
  'waiting_for_configuration',
  'skipped_locked',
  'failed',
] as const;
export type StripeSyncOutcome = (typeof STRIPE_SYNC_OUTCOMES)[number];

/** One run of the Stripe sync and what it did (0005). */
export interface StripeSyncRunsTable {
  id: Generated<string>;
  started_at: DefaultedTimestamp;
  finished_at: NullableTimestamp;
  outcome: ColumnType<StripeSyncOutcome, StripeSyncOutcome | undefined, StripeSyncOutcome>;
  details: DefaultedJsonb<JsonObject>;
}

export interface StripeWebhookEventsTable {
  /** Stripe's event id (`evt_...`): a redelivered event conflicts on it and is skipped. */
  id: string;
  type: string;
  received_at: DefaultedTimestamp;
}

/** The A2A task states, as the SDK names them on the wire (`TaskState` JSON names); 0006 checks the column. */
export const A2P_TASK_STATES = [
  'TASK_STATE_SUBMITTED',
  'TASK_STATE_WORKING',
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_INPUT_REQUIRED',
  'TASK_STATE_REJECTED',
  'TASK_STATE_AUTH_REQUIRED',
] as const;
export type A2pTaskState = (typeof A2P_TASK_STATES)[number];

/** An A2A task (0006); status, artifacts, history and metadata are the SDK's `Task.toJSON` fields. */
export interface A2pTasksTable {
  id: string;
  user_id: string;
  context_id: string;
  state: A2pTaskState;
  status_timestamp: ColumnType<Date, Date | string, Date | string>;
  status: Jsonb<JsonObject>;
  artifacts: DefaultedJsonb<JsonValue[]>;
  history: DefaultedJsonb<JsonValue[]>;
  metadata: NullableJsonb<JsonObject>;
  session_id: string | null;
  example_id: string | null;
  /** The dataset a build-dataset task follows (0008). */
  dataset_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Incremented by every write: the optimistic lock of progress updates. */
  revision: Generated<number>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** One A2P JSON-RPC request, for audit (0006). */
export interface A2pRequestsTable {
  id: Generated<number>;
  request_id: string;
  user_id: string | null;
  api_key_id: string | null;
  method: string | null;
  protocol_version: string;
  task_id: string | null;
  outcome: 'ok' | 'error';
  error_code: number | null;
  error_message: string | null;
  duration_ms: number;
  created_at: DefaultedTimestamp;
}

/** The fine-tuning formats a dataset is written in (0008 checks the column); `raw` is for single examples only. */
export const DATASET_FORMATS = ['openai', 'vertex', 'anthropic', 'trl'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export const DATASET_STATUSES = ['building', 'ready', 'failed'] as const;
export type DatasetStatus = (typeof DATASET_STATUSES)[number];

/** A dataset of a user's completed examples in one fine-tuning format (0008). */
export interface DatasetsTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  format: DatasetFormat;
  status: Generated<DatasetStatus>;
  /** The request's filters, kept as given (not foreign keys). */
  suite_id: string | null;
  session_ids: string[] | null;
  model_id: string | null;
  created_after: NullableTimestamp;
  created_before: NullableTimestamp;
  /** The suite restriction of the key that created it (null: every suite). */
  allowed_suite_ids: string[] | null;
  validation_split: Generated<number>;
  seed: number;
  dedupe: Generated<boolean>;
  matched_count: number | null;
  duplicate_count: number | null;
  skipped_count: number | null;
  train_count: number | null;
  validation_count: number | null;
  train_bytes: number | null;
  validation_bytes: number | null;
  train_sha256: string | null;
  validation_sha256: string | null;
  lint: NullableJsonb<JsonObject>;
  error: string | null;
  build_attempts: Generated<number>;
  /** Written as a build makes progress; a building dataset whose heartbeat stops is built again. */
  heartbeat_at: NullableTimestamp;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  completed_at: NullableTimestamp;
}

/** A build's work list: the examples, deduplicated, in the seed's order, with their split (0008). */
export interface DatasetExamplesTable {
  dataset_id: string;
  position: number;
  example_id: string;
  split: 'train' | 'validation';
}

/** A user's retention and redaction settings (0010); a user without a row follows the configured defaults. */
export interface UserSettingsTable {
  user_id: string;
  /** Days a session's files are kept after its creation; null keeps them. */
  session_retention_days: number | null;
  example_retention_days: number | null;
  redact_email_addresses: boolean;
  redact_card_numbers: boolean;
  /** `[{name, pattern}]`, RE2 syntax (shared/traces/redaction/redactionRules.ts). */
  redaction_patterns: DefaultedJsonb<Array<{ name: string; pattern: string }>>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** In order; an erasure that dies goes on from the step it had reached (shared/privacy/userErasure.ts). */
export const USER_ERASURE_STEPS = ['requested', 'keys_revoked', 'datasets_erased', 'examples_erased', 'sessions_erased', 'done'] as const;
export type UserErasureStep = (typeof USER_ERASURE_STEPS)[number];

/** DELETE /v1/users/me in progress or done (0010): the step reached, so that a retry goes on from there. */
export interface UserErasuresTable {
  user_id: string;
  step: UserErasureStep;
  requested_at: DefaultedTimestamp;
  completed_at: NullableTimestamp;
  attempts: Generated<number>;
  updated_at: DefaultedTimestamp;
}

/** Hourly storage samples of an invoiced period, summed per user, invoice and calendar month (0010). */
export interface StorageSampleRollupsTable {
  id: Generated<string>;
  user_id: string;
  /** The final invoice that billed these samples (or, failed ones, whose period their hours are in). */
  invoice_id: string;
  hour_from: Timestamp;
  hour_until: Timestamp;
  samples: number;
  /** Sum of the samples' bytes (byte-hours): numeric, read as a string. */
  byte_hours: ColumnType<string, string | number, string | number>;
  /** Sum of the samples' meter values (KB-hours, each sample rounded as the sync sent it). */
  meter_kb_hours: number;
  /** The samples' sync state, the same for all of them (storage_samples.stripe_timestamp and the rest). */
  carried_to: NullableTimestamp;
  sent: boolean;
  failed: boolean;
  attempted: boolean;
  resolution: string | null;
  created_at: DefaultedTimestamp;
}

/** Where a user's events go (see migrations/0011). */
export interface WebhookEndpointsTable {
  id: Generated<string>;
  user_id: string;
  url: string;
  events: string[];
  description: string | null;
  /** The signing secret (`whsec_...`): kept as is, since every delivery signs with it. */
  secret: string;
  enabled: Generated<boolean>;
  disabled_reason: string | null;
  /** The first failed delivery since the last success; null while deliveries succeed. */
  failing_since: Date | null;
  /** An A2P task's push-notification config (0014): the task, and the config's id; null for a webhook endpoint. */
  a2p_task_id: ColumnType<string | null, string | null | undefined, string | null>;
  a2p_config_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** The webhook outbox: one row per event, written with the state change it reports. */
export interface WebhookEventsTable {
  id: Generated<string>;
  user_id: string;
  type: string;
  /** The resource as the REST API returns it. */
  data: Jsonb<JsonValue>;
  created_at: DefaultedTimestamp;
}

/** One event to one endpoint: its attempts and outcome. */
export interface WebhookDeliveriesTable {
  id: Generated<string>;
  event_id: string;
  endpoint_id: string;
  attempts: Generated<number>;
  /** When the deliverer tries next (a lease while an attempt runs); null once delivered or failed. */
  next_attempt_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  retry_until: Date | null;
  last_status: number | null;
  last_error: string | null;
  latency_ms: number | null;
  delivered_at: Date | null;
  failed_at: Date | null;
  created_at: DefaultedTimestamp;
}

export interface BudgetsTable {
  user_id: string;
  /** Minor units of `currency`; null means no limit. */
  monthly_limit: number | null;
  currency: string;
  hard_limit: Generated<boolean>;
  alert_thresholds: number[];
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** A threshold crossed in a period: its key makes usage.budget_threshold once per period and threshold. */
export interface BudgetThresholdEmissionsTable {
  user_id: string;
  period_start: Date;
  threshold: number;
  event_id: string | null;
  emitted_at: DefaultedTimestamp;
}

export interface Database {
  users: UsersTable;
  api_keys: ApiKeysTable;
  rate_limit_counters: RateLimitCountersTable;
  suites: SuitesTable;
  actions: ActionsTable;
  action_parameters: ActionParametersTable;
  mcp_servers: McpServersTable;
  tools: ToolsTable;
  tool_parameters: ToolParametersTable;
  action_tool_maps: ActionToolMapsTable;
  action_tool_mappings: ActionToolMappingsTable;
  action_tool_parameter_mappings: ActionToolParameterMappingsTable;
  models: ModelsTable;
  sessions: SessionsTable;
  examples: ExamplesTable;
  example_job_outbox: ExampleJobOutboxTable;
  token_usage: TokenUsageTable;
  storage_samples: StorageSamplesTable;
  token_usage_unsent: TokenUsageUnsentTable;
  storage_samples_unsent: StorageSamplesUnsentTable;
  token_usage_carried: TokenUsageCarriedTable;
  storage_samples_carried: StorageSamplesCarriedTable;
  invoices: InvoicesTable;
  stripe_webhook_events: StripeWebhookEventsTable;
  token_usage_daily: TokenUsageDailyTable;
  stored_objects: StoredObjectsTable;
  storage_listings: StorageListingsTable;
  storage_sampler_state: StorageSamplerStateTable;
  billing_subscriptions: BillingSubscriptionsTable;
  billing_period_closes: BillingPeriodClosesTable;
  stripe_meter_error_reports: StripeMeterErrorReportsTable;
  stripe_price_meters: StripePriceMetersTable;
  stripe_sync_runs: StripeSyncRunsTable;
  a2p_tasks: A2pTasksTable;
  a2p_requests: A2pRequestsTable;
  datasets: DatasetsTable;
  dataset_examples: DatasetExamplesTable;
  user_settings: UserSettingsTable;
  user_erasures: UserErasuresTable;
  storage_sample_rollups: StorageSampleRollupsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  budgets: BudgetsTable;
  budget_threshold_emissions: BudgetThresholdEmissionsTable;
}

export type BudgetRow = Selectable<BudgetsTable>;

export type NewSuite = Insertable<SuitesTable>;

export type NewAction = Insertable<ActionsTable>;

export type NewActionParameter = Insertable<ActionParametersTable>;

export type NewMcpServer = Insertable<McpServersTable>;

export type NewTool = Insertable<ToolsTable>;

export type NewToolParameter = Insertable<ToolParametersTable>;

export type NewActionToolMap = Insertable<ActionToolMapsTable>;

export type NewActionToolMapping = Insertable<ActionToolMappingsTable>;

export type NewActionToolParameterMapping = Insertable<ActionToolParameterMappingsTable>;

export type NewModel = Insertable<ModelsTable>;

export type SessionUpdate = Updateable<SessionsTable>;

export type BillingSubscriptionRow = Selectable<BillingSubscriptionsTable>;
export type NewBillingSubscription = Insertable<BillingSubscriptionsTable>;
