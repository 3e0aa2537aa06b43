import { getDb } from '../shared/db/index.js';
import { ApiError } from '../shared/errors/apiError.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { readJsonBody, validateInput } from '../shared/http/requestParsing.js';
import { jsonResponse } from '../shared/http/responses.js';
import { isMultipartFormData } from '../shared/sessions/multipartUpload.js';
import {
  CreatedSessionSchema,
  CreateSessionJsonBody,
  CreateSessionMultipartBody,
  SessionListQuery,
  SessionPageSchema,
  SessionParams,
  SessionSchema,
} from '../shared/sessions/sessionSchemas.js';
import {
  createSessionFromMultipart,
  createSessionWithUploadUrl,
  getSession,
  listSessions,
} from '../shared/sessions/sessionService.js';

defineRoute({
  operationId: 'createSession',
  method: 'POST',
  path: '/v1/sessions',
  tags: ['Sessions'],
  summary: 'Create a session (upload URL, or the file itself)',
  description:
    'Two forms. **JSON** `{ suite_id, description? }`: answers 201 with the session (`awaiting_upload`) and `upload`, ' +
    "a SAS URL that allows creating and writing the session's one blob until `expires_at` (1 hour by default); " +
    'upload the trace there (one PUT, or staged blocks with the Azure SDK), at most `max_bytes` (5 GiB by ' +
    'default). **multipart/form-data** with `suite_id`, `description`? and the file `input_events`, in any order: ' +
    'the file is streamed to storage (at most 100 MiB by default, else 413 and nothing is kept) and the session ' +
    'answers 201 as `processing`. Either way the upload is then indexed and the session becomes `ready` or ' +
    '`invalid`. A suite that does not exist is a 422 naming suite_id; one the key is not limited to is a 403. ' +
    'Storage is billed: with billing on, 402 `payment_required` unless the account may incur cost now.',
  auth: 'apiKey',
  rateLimit: 'session_create',
  billable: true,
  responses: {
    201: {
      description: 'The session: with `upload` for the JSON form; `processing` for the multipart form.',
      schema: CreatedSessionSchema.or(SessionSchema),
    },
  },
  errors: ['bad_request', 'forbidden', 'payload_too_large', 'validation_error'],
  openapi: {
    request: {
      body: {
        required: true,
        content: {
          'application/json': { schema: CreateSessionJsonBody },
          'multipart/form-data': { schema: CreateSessionMultipartBody },
        },
      },
    },
  },
  handler: async ({ auth, request }) => {
    const contentType = request.headers.get('content-type');
    if (isMultipartFormData(contentType)) {
      const session = await createSessionFromMultipart(getDb(), auth, {
        contentType: contentType as string,
        body: request.body,
      });
      return jsonResponse(201, session);
    }
    if (!isJsonMediaType(contentType)) {
      throw ApiError.badRequest('Expected Content-Type application/json or multipart/form-data.');
    }
    const body = validateInput(CreateSessionJsonBody, await readJsonBody(request), 'body');
    return jsonResponse(201, await createSessionWithUploadUrl(getDb(), auth, body));
  },
});

function isJsonMediaType(contentType: string | null): boolean {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

defineRoute({
  operationId: 'listSessions',
  method: 'GET',
  path: '/v1/sessions',
  tags: ['Sessions'],
  summary: 'List your sessions',
  description:
    'Your sessions, newest first, optionally of one suite. A key limited to some suites sees only theirs.',
  auth: 'apiKey',
  query: SessionListQuery,
  responses: { 200: { description: 'A page of sessions.', schema: SessionPageSchema } },
  handler: async ({ auth, query }) => jsonResponse(200, await listSessions(getDb(), auth, query)),
});

defineRoute({
  operationId: 'getSession',
  method: 'GET',
  path: '/v1/sessions/{id}',
  tags: ['Sessions'],
  summary: 'Get a session',
  description: 'The session with its status, measurements and, when invalid, the first problems found.',
  auth: 'apiKey',
  params: SessionParams,
  responses: { 200: { description: 'The session.', schema: SessionSchema } },
  errors: ['not_found'],
  handler: async ({ auth, params }) => jsonResponse(200, await getSession(getDb(), auth, params.id)),
});
