import { ApiError } from '../shared/errors/apiError.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { MAX_JSON_BODY_BYTES } from '../shared/http/requestBody.js';
import { readJsonBody } from '../shared/http/requestParsing.js';
import { validateInput } from '../shared/validation/validateInput.js';
import { jsonResponse } from '../shared/http/responses.js';
import { isMultipartFormData } from '../shared/sessions/multipartUpload.js';
import { deleteSession } from '../shared/sessions/sessionDeletion.js';
import {
  CreatedSessionSchema,
  CreateSessionJsonBody,
  DeleteSessionQuery,
  CreateSessionMultipartBody,
  NewUploadBody,
  SessionListQuery,
  SessionPageSchema,
  SessionParams,
  SessionSchema,
} from '../shared/sessions/sessionSchemas.js';
import {
  createSessionFromMultipart,
  createSessionWithUploadUrl,
  getSession,
  issueNewUploadUrl,
  listSessions,
  type SessionDeps,
} from '../shared/sessions/sessionService.js';
import type { AppDeps } from '../shared/runtime/appDeps.js';

/** Text fields of a multipart create (suite_id, description), with their part headers and the boundaries. */
const MULTIPART_FIELDS_MAX_BYTES = 2 * 1024 * 1024;

/** What creating a session acts with. */
async function sessionDeps(deps: AppDeps): Promise<SessionDeps> {
  return { db: deps.db, blobs: await deps.storage.blobs(), config: deps.config };
}

defineRoute({
  operationId: 'createSession',
  method: 'POST',
  path: '/v1/sessions',
  tags: ['Sessions'],
  summary: 'Create a session (upload URL, or the file itself)',
  description:
    'Two forms. **JSON** `{ suite_id, description?, format?, file_name?, skip_invalid_lines? }`: answers 201 with ' +
    'the session (`awaiting_upload`) and `upload`, a SAS URL that allows creating and writing one staging blob ' +
    'until `expires_at` (1 hour by default); upload the recording there (one PUT, or staged blocks with the Azure ' +
    'SDK), at most `max_bytes` (5 GiB by default). **multipart/form-data** with `suite_id`, `description`?, ' +
    '`format`?, `skip_invalid_lines`? and the file `input_events` (whatever the format), in any order: the file is ' +
    'streamed to storage (at most 100 MiB by default, else 413 and nothing is kept) and the session answers 201 as ' +
    '`processing`. Either way the upload is then indexed: its format recognised (or checked against `format`), ' +
    'converted into the canonical trace (`input_events.jsonl` in the recorder\'s shape, ordered by time), ' +
    'screenshots of a bundle stored with a manifest, the original kept when it was not already canonical; the ' +
    'session becomes `ready` or `invalid` (with the reasons by line, event or entry). A bundle\'s unpacked size is ' +
    'held to the same limit as its upload. A suite that does not exist is a 422 naming suite_id; one the key is not ' +
    'limited to is a 403. Storage is billed: with billing on, 402 `payment_required` unless the account may incur ' +
    'cost now.',
  auth: 'apiKey',
  rateLimit: 'session_create',
  billable: true,
  maxBodyBytes: {
    // The file's own limit (busboy counts it) plus room for the text fields, their part headers and boundaries.
    bytes: (config) => config.sessions.multipartMaxBytes + MULTIPART_FIELDS_MAX_BYTES,
    documented:
      '`SESSION_MULTIPART_MAX_BYTES` (100 MiB by default) of file plus 2 MiB of form fields (multipart), or ' +
      `${MAX_JSON_BODY_BYTES} bytes (JSON)`,
  },
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
  handler: async ({ auth, bodyStream, request, deps }) => {
    const contentType = request.headers.get('content-type');
    if (isMultipartFormData(contentType)) {
      const session = await createSessionFromMultipart(await sessionDeps(deps), auth, {
        contentType: contentType as string,
        body: bodyStream,
      });
      return jsonResponse(201, session);
    }
    if (!isJsonMediaType(contentType)) {
      throw ApiError.badRequest('Expected Content-Type application/json or multipart/form-data.');
    }
    const body = validateInput(CreateSessionJsonBody, await readJsonBody(request), 'body');
    return jsonResponse(201, await createSessionWithUploadUrl(await sessionDeps(deps), auth, body));
  },
});

defineRoute({
  operationId: 'createSessionUpload',
  method: 'POST',
  path: '/v1/sessions/{id}/upload',
  tags: ['Sessions'],
  summary: 'Get a fresh upload URL',
  description:
    'For a session `awaiting_upload` (its URL expired) or `invalid` (try again): a new upload URL, naming a new ' +
    'staging blob, so that nothing written through an older URL counts any more. The session goes back to ' +
    '`awaiting_upload` with nothing measured. The body is optional: `format`, `file_name` and `skip_invalid_lines` ' +
    'for the next upload (else the session\'s own). 409 while the session is processing or once it is ready (a ready ' +
    'session never changes). Counts against the session-creation rate limit.',
  auth: 'apiKey',
  rateLimit: 'session_create',
  params: SessionParams,
  body: NewUploadBody,
  bodyOptional: true,
  responses: { 200: { description: 'The session, with its new `upload`.', schema: CreatedSessionSchema } },
  errors: ['conflict', 'not_found'],
  handler: async ({ auth, params, body, deps }) => jsonResponse(200, await issueNewUploadUrl(await sessionDeps(deps), auth, params.id, body)),
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
    'Your sessions, newest first, optionally of one suite. A key limited to some suites sees only theirs. Deleted ' +
    'sessions are left out unless `include_deleted=true`; expired ones (retention removed their files) are listed.',
  auth: 'apiKey',
  query: SessionListQuery,
  responses: { 200: { description: 'A page of sessions.', schema: SessionPageSchema } },
  handler: async ({ auth, query, deps }) => jsonResponse(200, await listSessions(deps.db, auth, query)),
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
  handler: async ({ auth, params, deps }) => jsonResponse(200, await getSession(deps.db, auth, params.id)),
});

defineRoute({
  operationId: 'deleteSession',
  method: 'DELETE',
  path: '/v1/sessions/{id}',
  tags: ['Sessions'],
  summary: 'Delete a session and its files',
  description:
    'Deletes the session\'s files: the canonical trace, its screenshots and manifest, the original, and any ' +
    'staging upload. The session stays as `deleted` with its metadata (for billing history), left out of GET ' +
    '/v1/sessions unless `include_deleted=true`; it stops counting as stored at once. 409 while examples of it ' +
    'exist (`details.reason: session_has_examples`) unless `cascade=true`, which deletes them too (as DELETE ' +
    '/v1/examples/{id}); 409 while one of them is being processed, or while the session is being indexed. A ' +
    'repeated DELETE is 204 too (and removes any file still there); someone else\'s session is 404.',
  auth: 'apiKey',
  params: SessionParams,
  query: DeleteSessionQuery,
  responses: { 204: { description: 'Deleted (or already deleted).' } },
  errors: ['not_found', 'conflict'],
  handler: async ({ auth, params, query, deps }) => {
    await deleteSession(deps.db, await deps.storage.fileStores(), auth, params.id, { cascade: query.cascade });
    return { status: 204 };
  },
});
