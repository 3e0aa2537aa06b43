import { SESSION_STATUSES } from '../db/schema.js';
import { PaginationQuery, pageSchema } from '../http/pagination.js';
import { z } from '../openapi/zod.js';
import { MAX_LINE_BYTES, MAX_REPORTED_ERRORS } from './traceIndexer.js';

export const DESCRIPTION_MAX_LENGTH = 2000;

export const Description = z
  .string()
  .max(DESCRIPTION_MAX_LENGTH)
  .openapi({ description: `Free text, at most ${DESCRIPTION_MAX_LENGTH} characters.`, example: 'Archiving a thread' });

const SuiteId = z.uuid().openapi({
  description: 'The suite (application) the recording is of. A suite that does not exist is a 422 naming suite_id.',
  example: '00000000-0000-4000-8000-000000000201',
});

export const CreateSessionJsonBody = z
  .object({ suite_id: SuiteId, description: Description.nullable().optional() })
  .openapi('CreateSessionRequest', {
    description: 'Creates a session and answers with a URL to upload its input_events.jsonl to.',
  });

export const CreateSessionMultipartBody = z
  .object({
    suite_id: SuiteId,
    description: Description.optional(),
    input_events: z.string().openapi({
      format: 'binary',
      description: 'The trace: JSON Lines, one event per line. Any field order; the file is streamed to storage.',
    }),
  })
  .openapi('CreateSessionMultipartRequest');

/** The text fields of the multipart form, validated once the form has been read (or as they arrive). */
export const MultipartFieldsSchema = z.object({ suite_id: SuiteId, description: Description.optional() });

export const SessionValidationErrorSchema = z
  .object({
    line: z.number().int().min(0).openapi({ description: '1-based line number; 0 means the file as a whole.' }),
    message: z.string(),
  })
  .openapi('SessionValidationError');

export const SessionSchema = z
  .object({
    id: z.uuid(),
    suite_id: z.uuid(),
    description: z.string().nullable(),
    storage_path: z.string().openapi({
      description: 'Where the session lives: `sessions/<id>/`; the trace is `input_events.jsonl` in it.',
      example: 'sessions/3f0e7a52-1c9b-4d2e-9a61-0b7c2f4d8e15/',
    }),
    status: z.enum(SESSION_STATUSES).openapi({
      description:
        '`awaiting_upload` until the trace is uploaded; `processing` while it is indexed; then `ready`, or ' +
        '`invalid` with `validation_errors`. A new upload to the same URL indexes again.',
    }),
    size_bytes: z.number().int().min(0).nullable().openapi({ description: 'Size of the uploaded trace, once indexed.' }),
    event_count: z.number().int().min(0).nullable().openapi({ description: 'Events in the trace, when ready.' }),
    event_counts: z
      .record(z.string(), z.number().int().min(0))
      .nullable()
      .openapi({ description: 'Events by their `type` (or `name`), when ready.', example: { keydown: 120, click: 14 } }),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable()
      .openapi({ description: 'Lowercase hex SHA-256 of the uploaded trace, once indexed.' }),
    duration_seconds: z.number().min(0).nullable().openapi({
      description:
        'Seconds from the earliest to the latest event `ts`, when ready. `ts` is read as microseconds, as in ' +
        "Chrome's trace event format.",
      example: 93.5,
    }),
    validation_errors: z.array(SessionValidationErrorSchema).openapi({
      description: `Why the trace is invalid: the first ${MAX_REPORTED_ERRORS} problems, in line order (empty unless invalid). Each line must be a JSON object with a numeric \`ts\` and a string \`type\` or \`name\`, valid UTF-8, at most ${MAX_LINE_BYTES} bytes.`,
    }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi('Session');

export const SessionUploadSchema = z
  .object({
    url: z.url().openapi({ description: 'A SAS URL that allows creating and writing this one blob, until expires_at.' }),
    method: z.literal('PUT'),
    headers: z.object({ 'x-ms-blob-type': z.literal('BlockBlob') }),
    expires_at: z.iso.datetime(),
    max_bytes: z.number().int().openapi({ description: 'Larger uploads are deleted and the session marked invalid.' }),
  })
  .openapi('SessionUpload', {
    description:
      'Upload the trace with one PUT of the whole file (with these headers), or in staged blocks with the Azure ' +
      'Storage SDK (`new BlockBlobClient(url).uploadFile(path)`), which survives flaky networks.',
  });

export const CreatedSessionSchema = SessionSchema.extend({ upload: SessionUploadSchema }).openapi('CreatedSession');

export const SessionPageSchema = pageSchema(SessionSchema).openapi('SessionPage');

export const SessionListQuery = PaginationQuery.extend({
  suite_id: z.uuid().optional().openapi({ description: 'Only sessions of this suite.' }),
});

export const SessionParams = z.object({ id: z.uuid().openapi({ description: 'The session id.' }) });

export type SessionResponse = z.infer<typeof SessionSchema>;
export type SessionUpload = z.infer<typeof SessionUploadSchema>;
export type CreateSessionInput = z.infer<typeof CreateSessionJsonBody>;
export type SessionListInput = z.infer<typeof SessionListQuery>;
