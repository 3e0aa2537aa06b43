import { dispatchJob } from '../shared/examples/exampleJobs.js';
import {
  CreateExampleBodySchema,
  ExampleListQuery,
  ExamplePageSchema,
  ExampleParams,
  ExampleSchema,
  MessagesDownloadSchema,
  MessagesQuery,
} from '../shared/examples/exampleSchemas.js';
import {
  createExample,
  getCompletedExample,
  getExample,
  listExamples,
  toExampleResponse,
} from '../shared/examples/exampleService.js';
import {
  createMessagesDownloadUrl,
  MESSAGES_DOWNLOAD_URL_TTL_SECONDS,
  openMessagesBlob,
} from '../shared/examples/exampleMessages.js';
import { deleteExample } from '../shared/examples/exampleDeletion.js';
import { ApiError } from '../shared/errors/apiError.js';
import { formatExampleMessages } from '../shared/examples/formattedMessages.js';
import { MAX_CONVERSATION_BYTES } from '../shared/trainingFormats/exampleConversation.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { z } from '../shared/openapi/zod.js';
import { EXAMPLE_JOBS_QUEUE } from '../shared/storage/layout.js';

defineRoute({
  operationId: 'createExample',
  method: 'POST',
  path: '/v1/examples',
  tags: ['Examples'],
  summary: 'Request a training example from a session',
  description:
    'Creates an example (PENDING) from a `ready` session of yours and hands a job to the pipelines service ' +
    '(queue `example-jobs`). Without `action_tool_map_id` the suite\'s only map is used (422 when it has none or ' +
    'several). A session that is not ready is 409. With an `Idempotency-Key` header (1-255 characters), a ' +
    'repeated request answers with the first one\'s example (header `Idempotent-Replayed: true`); the same key ' +
    'with a different body is 409. Tokens are billed: with billing on, 402 `payment_required` unless the account ' +
    'may incur cost now.',
  auth: 'apiKey',
  billable: true,
  body: CreateExampleBodySchema,
  responses: { 201: { description: 'The example, PENDING.', schema: ExampleSchema } },
  errors: ['not_found', 'conflict'],
  openapi: {
    request: {
      headers: z.object({
        'Idempotency-Key': z.string().min(1).max(255).optional().openapi({ description: 'Makes retries safe.' }),
      }),
    },
  },
  handler: async ({ auth, body, request, context, deps }) => {
    const created = await createExample(deps.db, await deps.storage.blobs(), auth, body, request.headers.get('idempotency-key'));
    if (created.job) {
      const queue = await deps.storage.queue(EXAMPLE_JOBS_QUEUE);
      await dispatchJob(deps.db, queue, created.example.id, created.job, (message) => context.warn(message));
    }
    return jsonResponse(201, created.example, {
      Location: `/v1/examples/${created.example.id}`,
      ...(created.replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    });
  },
});

defineRoute({
  operationId: 'listExamples',
  method: 'GET',
  path: '/v1/examples',
  tags: ['Examples'],
  summary: 'List your examples',
  description: 'Newest first, filtered by session, suite, model and status.',
  auth: 'apiKey',
  query: ExampleListQuery,
  responses: { 200: { description: 'A page of examples.', schema: ExamplePageSchema } },
  handler: async ({ auth, query, deps }) => jsonResponse(200, await listExamples(deps.db, auth, query)),
});

defineRoute({
  operationId: 'getExample',
  method: 'GET',
  path: '/v1/examples/{id}',
  tags: ['Examples'],
  summary: 'An example, with its status, error and token usage',
  description: 'Someone else\'s example is 404.',
  auth: 'apiKey',
  params: ExampleParams,
  responses: { 200: { description: 'The example.', schema: ExampleSchema } },
  errors: ['not_found'],
  handler: async ({ auth, params, deps }) => jsonResponse(200, toExampleResponse(await getExample(deps.db, auth, params.id))),
});

defineRoute({
  operationId: 'deleteExample',
  method: 'DELETE',
  path: '/v1/examples/{id}',
  tags: ['Examples'],
  summary: 'Delete an example and its messages',
  description:
    'Deletes `examples/<id>/` (the messages) and marks the example deleted (`deleted_at`): it is left out of ' +
    'GET /v1/examples unless `include_deleted=true`, and its messages are a 409. Its status and token usage stay ' +
    '(usage already recorded was billed), and it stops counting as stored at once. 409 while the pipelines service ' +
    'is processing it (`details.reason: example_processing`). A repeated DELETE is 204 too (and removes any file ' +
    'still there); someone else\'s example is 404.',
  auth: 'apiKey',
  params: ExampleParams,
  responses: { 204: { description: 'Deleted (or already deleted).' } },
  errors: ['not_found', 'conflict'],
  handler: async ({ auth, params, deps }) => {
    await deleteExample(deps.db, await deps.storage.fileStores(), auth, params.id);
    return { status: 204 };
  },
});

defineRoute({
  operationId: 'getExampleMessages',
  method: 'GET',
  path: '/v1/examples/{id}/messages',
  tags: ['Examples'],
  summary: 'The training messages of a completed example (JSONL), as stored or in a provider\'s format',
  description:
    '`format=raw` (the default) streams `examples/<id>/messages.jsonl` as `application/jsonl` with its ' +
    '`Content-Length`: one chat message per line, in canonical form (OpenAI\'s message shape). `openai`, `vertex`, ' +
    '`anthropic` and `trl` answer one line holding the whole conversation in that provider\'s fine-tuning format, ' +
    'with the tool definitions built from the example\'s action-tool map (each tool a function named as the calls ' +
    `name it, with a JSON Schema of its parameters); examples over ${MAX_CONVERSATION_BYTES} bytes are not ` +
    'converted (422 naming `format`). 409 unless the example is COMPLETED. With `?download=url` (raw only) it ' +
    `answers JSON instead: a read-only URL of the file in storage, valid for ${MESSAGES_DOWNLOAD_URL_TTL_SECONDS / 60} ` +
    'minutes, for very large files.',
  auth: 'apiKey',
  params: ExampleParams,
  query: MessagesQuery,
  responses: {
    200: { description: 'The messages, one JSON object per line.', schema: z.string(), contentType: 'application/jsonl' },
  },
  errors: ['not_found', 'conflict'],
  openapi: {
    responses: {
      200: {
        description: 'The messages (JSONL), or with `download=url` a short-lived download URL (JSON).',
        content: {
          'application/jsonl': { schema: z.string() },
          'application/json': { schema: MessagesDownloadSchema },
        },
      },
    },
  },
  handler: async ({ auth, params, query, deps }) => {
    if (query.download === 'url' && query.format !== 'raw') throw downloadNeedsRaw();
    const example = await getCompletedExample(deps.db, auth, params.id);
    if (query.format !== 'raw') {
      const line = await formatExampleMessages(deps.db, await deps.storage.blobs(), example, query.format);
      return {
        status: 200,
        headers: {
          'Content-Type': 'application/jsonl; charset=utf-8',
          'Content-Length': String(Buffer.byteLength(line)),
          'Content-Disposition': `attachment; filename="${example.id}-${query.format}.jsonl"`,
        },
        body: line,
      };
    }
    if (query.download === 'url') {
      return jsonResponse(200, await createMessagesDownloadUrl(await deps.storage.blobs(), deps.config, example.id));
    }
    const messages = await openMessagesBlob(await deps.storage.blobs(), example.id);
    return {
      status: 200,
      headers: {
        'Content-Type': 'application/jsonl; charset=utf-8',
        'Content-Length': String(messages.sizeBytes),
        'Content-Disposition': `attachment; filename="${example.id}-messages.jsonl"`,
      },
      body: messages.stream,
    };
  },
});

function downloadNeedsRaw(): ApiError {
  const message = 'download=url links the stored file, which is format=raw; other formats are served directly.';
  return ApiError.validation(message, { fields: [{ location: 'query', field: 'download', message }] });
}

