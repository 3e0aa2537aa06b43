import { SESSION_STATUSES, TRACE_CLOCKS } from '../db/schema.js';
import { MAX_LINE_BYTES } from '../jsonl/jsonlObjectReader.js';
import { PaginationQuery, pageSchema } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';
import { TRACE_FORMATS } from '../traces/traceFormats.js';
import { MAX_REPORTED_ERRORS } from '../traces/traceSummary.js';
import { UPLOAD_FILE_NAME_PATTERN } from './sessionBlob.js';

export const DESCRIPTION_MAX_LENGTH = 2000;

export const Description = z
  .string()
  .max(DESCRIPTION_MAX_LENGTH)
  .openapi({ description: `Free text, at most ${DESCRIPTION_MAX_LENGTH} characters.`, example: 'Archiving a thread' });

const SuiteId = z.uuid().openapi({
  description: 'The suite (application) the recording is of. A suite that does not exist is a 422 naming suite_id.',
  example: '00000000-0000-4000-8000-000000000201',
});

/** How each format becomes the canonical trace; the same text is in README.md (Sessions, Formats). */
export const FORMATS_DESCRIPTION =
  'The recording\'s format: `recorder-jsonl` (the Tracepipe recorder: one JSON object per line with `timestamp`, ' +
  'ISO 8601 with an offset, and `action`; `suite`, `tab`, `url`, `selector`, `additional_info` kept), ' +
  '`tracepipe-jsonl` (numeric `ts` in microseconds since the epoch and `type` or `name`; other fields go to ' +
  '`additional_info`), `chrome-trace` (Chrome\'s Trace Event Format, `{"traceEvents":[...]}` or an array: ' +
  '`EventDispatch` input events become events, everything else is dropped and counted; wall time from the ' +
  "metadata's `startTime` or `trace-capture-datetime`, else the clock is relative), `recorder-bundle` (a .zip of " +
  'the recorder\'s folder: `input/*.json`, one event each, and `screenshot/<timestamp>/` with one JSON and one ' +
  'png/jpeg/webp image) or `rrweb` (a JSON array of rrweb events: mouse and touch moves, mouse interactions, ' +
  'scroll, viewport, input, drag). Left out, it is recognised from the content; named, the content must match.';

const Format = z.enum(TRACE_FORMATS).openapi({ description: FORMATS_DESCRIPTION, example: 'recorder-jsonl' });

const FileName = z
  .string()
  .regex(UPLOAD_FILE_NAME_PATTERN)
  .openapi({
    description:
      'The upload\'s file name (1-128 of `A-Za-z0-9._-`, starting with a letter or digit), kept with the original ' +
      'as `original/<file_name>`. Default: `input_events.jsonl`, `trace.json`, `recording.zip` or `rrweb.json` ' +
      'by `format`, else `upload`.',
    example: 'recording.zip',
  });

const SkipInvalidLines = z.boolean().openapi({
  description:
    'Keep the valid events of a trace that has some invalid ones (each skipped one is still listed in ' +
    '`validation_errors` and counted in `skipped_event_count`). Default false: one invalid event makes the ' +
    'session `invalid`.',
});

export const CreateSessionJsonBody = z
  .object({
    suite_id: SuiteId,
    description: Description.nullable().optional(),
    format: Format.optional(),
    file_name: FileName.optional(),
    skip_invalid_lines: SkipInvalidLines.optional(),
  })
  .openapi('CreateSessionRequest', {
    description: 'Creates a session and answers with a URL to upload its recording to.',
  });

export const NewUploadBody = z
  .object({
    format: Format.optional(),
    file_name: FileName.optional(),
    skip_invalid_lines: SkipInvalidLines.optional(),
    renew: z.boolean().optional().openapi({
      description:
        'true: a fresh URL for the same staging blob (the current attempt) instead of a new one, so that blocks ' +
        'staged through an expired URL can still be committed (a resumed upload). Only while `awaiting_upload` ' +
        '(409 otherwise); `format`, `file_name` and `skip_invalid_lines` cannot change with it (422). Default false.',
    }),
  })
  .openapi('NewSessionUploadRequest', {
    description:
      'Optional: the format, file name and skip_invalid_lines of the next upload (else the session\'s own), or ' +
      '`renew` to keep the current upload.',
  });

export const CreateSessionMultipartBody = z
  .object({
    suite_id: SuiteId,
    description: Description.optional(),
    format: Format.optional(),
    skip_invalid_lines: z.enum(['true', 'false']).optional().openapi({ description: 'As in the JSON form.' }),
    input_events: z.string().openapi({
      format: 'binary',
      description:
        'The recording, in any of the formats (the field keeps this name whatever the format). Any field order; ' +
        'the file is streamed to storage. Its file name is kept for the original when it is a valid `file_name`.',
    }),
  })
  .openapi('CreateSessionMultipartRequest');

/** The text fields of the multipart form, validated once the form has been read (or as they arrive). */
export const MultipartFieldsSchema = z.object({
  suite_id: SuiteId,
  description: Description.optional(),
  format: Format.optional(),
  skip_invalid_lines: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true'),
});

export const SessionValidationErrorSchema = z
  .object({
    line: z.number().int().min(0).optional().openapi({
      description: 'JSON Lines uploads: the 1-based line; 0 means the upload as a whole (any format).',
    }),
    index: z.number().int().min(0).optional().openapi({
      description: 'JSON documents (Chrome trace, rrweb): the 0-based index of the event in its array.',
    }),
    entry: z.string().optional().openapi({ description: 'Bundles: the zip entry, e.g. `input/12.json`.' }),
    message: z.string(),
  })
  .openapi('SessionValidationError');

const SessionFilesSchema = z
  .object({
    trace: z.string().openapi({ example: 'sessions/3f0e7a52-1c9b-4d2e-9a61-0b7c2f4d8e15/input_events.jsonl' }),
    screenshots_manifest: z.string().nullable().openapi({
      description: '`screenshots.jsonl`: one line per screenshot (timestamp, action, viewport, file, size, sha256), in time order.',
    }),
    original: z.string().nullable().openapi({ description: 'The upload as it came, when it was not already canonical.' }),
  })
  .openapi('SessionFiles', {
    description:
      'Blob paths (`<container>/<blob>`) of the canonical files, when ready. The trace is the recorder\'s line ' +
      'shape, one event per line, ordered by time, `timestamp` as ISO 8601 UTC with microseconds.',
  });

const Count = z.number().int().min(0).nullable();

export const SessionSchema = z
  .object({
    id: z.uuid(),
    suite_id: z.uuid(),
    description: z.string().nullable(),
    storage_path: z.string().openapi({
      description: 'Where the session lives: `sessions/<id>/`; the canonical trace is `input_events.jsonl` in it.',
      example: 'sessions/3f0e7a52-1c9b-4d2e-9a61-0b7c2f4d8e15/',
    }),
    status: z.enum(SESSION_STATUSES).openapi({
      description:
        '`awaiting_upload` until the recording is uploaded; `processing` while it is indexed; then `ready`, or ' +
        '`invalid` with `validation_errors` (POST /v1/sessions/{id}/upload gives a URL to try again). A ready ' +
        'session\'s trace never changes; it ends `expired` when retention deleted its files (see ' +
        '`session_retention_days` in GET /v1/users/me/settings) or `deleted` when you deleted it. Both keep the ' +
        'session\'s metadata (for billing history) and have no files.',
    }),
    format: z.enum(TRACE_FORMATS).nullable().openapi({ description: 'The format found, once indexed.' }),
    file_name: z.string().openapi({ description: 'The file name of the upload.' }),
    skip_invalid_lines: z.boolean(),
    size_bytes: Count.openapi({ description: 'Size of the upload as the client sent it, once indexed.' }),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable()
      .openapi({ description: 'Lowercase hex SHA-256 of the upload as the client sent it, once indexed.' }),
    canonical_size_bytes: Count.openapi({ description: 'Size of the canonical input_events.jsonl, when ready.' }),
    canonical_sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable().openapi({ description: 'Its SHA-256, when ready.' }),
    event_count: Count.openapi({ description: 'Events in the canonical trace, when ready.' }),
    event_counts: z
      .record(z.string(), z.number().int().min(0))
      .nullable()
      .openapi({ description: 'Events by their `action`, when ready.', example: { keydown: 120, click: 14 } }),
    clock: z.enum(TRACE_CLOCKS).nullable().openapi({
      description:
        '`absolute` when the event times are wall-clock times; `relative` when the source has none (a Chrome trace ' +
        'without metadata): the trace\'s times then start at 1970-01-01T00:00:00Z and only their differences mean ' +
        'anything. A Chrome trace anchored by `trace-capture-datetime` is absolute to within a second.',
    }),
    first_event_at: z.iso.datetime().nullable().openapi({ description: 'The first event\'s time, when ready and absolute.' }),
    last_event_at: z.iso.datetime().nullable().openapi({ description: 'The last event\'s time, when ready and absolute.' }),
    duration_seconds: z.number().min(0).nullable().openapi({
      description: 'Seconds from the first to the last event, when ready (for either clock).',
      example: 93.5,
    }),
    screenshot_count: Count.openapi({ description: 'Screenshots stored (bundles), when ready.' }),
    tab_count: Count.openapi({ description: 'Distinct tabs among the events (counted up to 10,000), when ready.' }),
    url_count: Count.openapi({ description: 'Distinct URLs among the events (counted up to 100,000), when ready.' }),
    dropped_event_count: Count.openapi({
      description: 'Source events that are not input and were left out (Chrome\'s other events, rrweb\'s DOM snapshots), when ready.',
    }),
    skipped_event_count: Count.openapi({ description: 'Invalid events left out under skip_invalid_lines, when ready.' }),
    files: SessionFilesSchema.nullable(),
    validation_errors: z.array(SessionValidationErrorSchema).openapi({
      description:
        `The first ${MAX_REPORTED_ERRORS} problems, in the order found: why the session is invalid, or what was ` +
        `skipped. Each names its line, event index or zip entry. JSON Lines are UTF-8, at most ${MAX_LINE_BYTES} ` +
        'bytes a line; a last line cut short (a recorder stopped mid-write) is reported as such.',
    }),
    redactions: Count.openapi({
      description:
        'Values masked at ingestion, when ready: what was typed into password fields (always), and what your ' +
        'redaction settings name (card numbers by default). Neither the trace nor the original keeps them.',
    }),
    redaction_counts: z
      .record(z.string(), z.number().int().min(0))
      .nullable()
      .openapi({
        description: 'The masked values by rule (`password`, `card_number`, `email`, `custom:<name>`), when ready.',
        example: { password: 26 },
      }),
    deleted_at: z.iso.datetime().nullable().openapi({ description: 'When it was deleted (status `deleted`).' }),
    expired_at: z.iso.datetime().nullable().openapi({ description: 'When retention deleted its files (status `expired`).' }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi('Session');

export const SessionUploadSchema = z
  .object({
    url: z.url().openapi({ description: 'A SAS URL that allows creating and writing this one staging blob, until expires_at.' }),
    method: z.literal('PUT'),
    headers: z.object({ 'x-ms-blob-type': z.literal('BlockBlob') }),
    expires_at: z.iso.datetime(),
    max_bytes: z.number().int().openapi({ description: 'Larger uploads are deleted and the session marked invalid.' }),
  })
  .openapi('SessionUpload', {
    description:
      'Upload the recording with one PUT of the whole file (with these headers), or in staged blocks with the ' +
      'Azure Storage SDK (`new BlockBlobClient(url).uploadFile(path)`), which survives flaky networks. The URL ' +
      'names a staging blob, not the session\'s trace: once the upload is indexed, writes to it change nothing.',
  });

export const CreatedSessionSchema = SessionSchema.extend({ upload: SessionUploadSchema }).openapi('CreatedSession');

export const SessionPageSchema = pageSchema(SessionSchema).openapi('SessionPage');

export const SessionListQuery = PaginationQuery.extend({
  suite_id: z.uuid().optional().openapi({ description: 'Only sessions of this suite.' }),
  include_deleted: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true')
    .openapi({ description: '`true` lists deleted sessions too (status `deleted`; they are left out by default).' }),
});

export const DeleteSessionQuery = z.object({
  cascade: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true')
    .openapi({ description: '`true` deletes the session\'s examples with it; without it, a session with examples is a 409.' }),
});

export const SessionParams = z.object({ id: z.uuid().openapi({ description: 'The session id.' }) });

export type SessionResponse = z.infer<typeof SessionSchema>;
export type SessionUpload = z.infer<typeof SessionUploadSchema>;
export type CreateSessionInput = z.infer<typeof CreateSessionJsonBody>;
export type NewUploadInput = z.infer<typeof NewUploadBody>;
export type SessionListInput = z.infer<typeof SessionListQuery>;
