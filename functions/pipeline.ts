import { advanceA2pTasksOf } from '../shared/a2p/a2pDeps.js';
import { ExampleParams, ExampleSchema, PipelineUpdateBodySchema } from '../shared/examples/exampleSchemas.js';
import { toExampleResponse } from '../shared/examples/exampleService.js';
import { applyPipelineUpdate } from '../shared/examples/pipelineUpdates.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';

defineRoute({
  operationId: 'updatePipelineExample',
  method: 'PATCH',
  path: '/v1/pipeline/examples/{id}',
  tags: ['Pipelines'],
  summary: 'Report progress or a result of an example (pipelines service)',
  description:
    'For the pipelines service, with a key that has the `pipeline` scope; it acts on every user\'s examples. ' +
    'Allowed moves: PENDING -> PROCESSING -> COMPLETED | FAILED, and PENDING -> FAILED; repeating the current ' +
    'state is a no-op (200); any other move is 409. COMPLETED needs `usage` and is accepted only once ' +
    '`examples/<id>/messages.jsonl` exists and every line is a message a trainer can use: `system` or `user` with ' +
    'string content; `assistant` with text content and/or `tool_calls`, either OpenAI\'s `[{ id, type: "function", ' +
    'function: { name, arguments: "<JSON string>" } }]` or the simplified `[{ name, arguments: {...} }]`, each ' +
    'naming a tool of the example\'s action-tool map with arguments that are a JSON object, and an optional ' +
    '`weight` of 0 or 1; `tool` with the `tool_call_id` of an earlier, unanswered call and string content. The ' +
    'file is then stored in one canonical form (OpenAI\'s, with `call_<n>` ids where missing and arguments as JSON ' +
    'strings), streamed. Otherwise 422 with `details.lines` (line numbers, first 20) and nothing changed. Token ' +
    'usage is recorded once per example.',
  auth: 'apiKey',
  scope: 'pipeline',
  params: ExampleParams,
  body: PipelineUpdateBodySchema,
  responses: { 200: { description: 'The example after the update.', schema: ExampleSchema } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, body, context, deps }) => {
    const example = await applyPipelineUpdate(deps.db, await deps.storage.blobs(), params.id, body);
    // An A2P task that follows this example moves with it (COMPLETED with its messages, or FAILED).
    await advanceA2pTasksOf(deps, { exampleId: example.id });
    return jsonResponse(200, toExampleResponse(example));
  },
});
