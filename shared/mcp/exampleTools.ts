import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { assertMayIncurCost } from '../billing/costPermission.js';
import { dispatchJob } from '../examples/exampleJobs.js';
import { CreateExampleBodySchema, ExampleListQuery, MessageFormatSchema, type MessageFormat } from '../examples/exampleSchemas.js';
import { formatExampleMessages } from '../examples/formattedMessages.js';
import {
  createExample,
  getCompletedExample,
  getExample,
  listExamples,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  toExampleResponse,
} from '../examples/exampleService.js';
import { z } from '../openapi/zod.js';
import { defineTool, describeFields, idArgument, PAGE_FIELD_DESCRIPTIONS } from './defineTool.js';
import { MAX_INLINE_MESSAGES_BYTES, parseJsonLines, readMessagesInline } from './inlineMessages.js';
import type { McpRequestContext } from './mcpContext.js';
import { CREATES, READ_ONLY, toolResult } from './toolResults.js';

const EXAMPLE_FIELDS =
  '{ id, session_id, suite_id, model_id, action_tool_map_id, model_configuration, storage_path, status, error, ' +
  'usage: { input_tokens, output_tokens, total_tokens } | null, created_at, updated_at, completed_at }';

export function exampleMessagesUri(exampleId: string): string {
  return `tracepipe://examples/${exampleId}/messages`;
}

/** How to fetch messages too large to inline: the REST download, which streams the file. */
export function messagesDownload(context: McpRequestContext, exampleId: string, format: MessageFormat = 'raw') {
  return {
    method: 'GET' as const,
    url: `${context.apiBaseUrl}/v1/examples/${exampleId}/messages${format === 'raw' ? '' : `?format=${format}`}`,
    headers: { 'X-API-Key': '<your API key>' },
    content_type: 'application/jsonl',
  };
}

const CreateExampleInput = describeFields(CreateExampleBodySchema, {
  session_id: 'A session of yours in status ready (see get_session).',
  model_id: 'The model to generate with (id from list_models).',
  action_tool_map_id:
    "Which action-tool map of the session's suite to use; leave it out when the suite has exactly one.",
  model_configuration: 'Free-form model settings passed to the pipeline, e.g. { "temperature": 0.2 }; at most 16 KiB.',
}).extend({
  idempotency_key: z
    .string()
    .min(1)
    .max(MAX_IDEMPOTENCY_KEY_LENGTH)
    .optional()
    .describe(
      'Makes a retry safe: the same key with the same arguments returns the first call\'s example instead of ' +
        'creating another (as the Idempotency-Key header of POST /v1/examples); with other arguments: error conflict.',
    ),
});

/** The example operations of /v1/examples, with the same services and rules. */
export function registerExampleTools(server: McpServer, context: McpRequestContext): void {
  const { db, blobs, auth } = context;

  defineTool(server, context, {
    name: 'list_examples',
    title: 'List your examples',
    description:
      'Lists your training examples, newest first, filtered by session, suite, model and status (PENDING, ' +
      `PROCESSING, COMPLETED, FAILED). Returns \`{ items: [${EXAMPLE_FIELDS}], total, page, per_page }\`.`,
    input: describeFields(ExampleListQuery, {
      ...PAGE_FIELD_DESCRIPTIONS,
      session_id: 'Only examples of this session.',
      suite_id: 'Only examples of this suite.',
      model_id: 'Only examples generated with this model.',
      status: 'Only examples in this status.',
    }),
    annotations: READ_ONLY,
    run: async (args) => toolResult(await listExamples(db, auth, args)),
  });

  defineTool(server, context, {
    name: 'get_example',
    title: 'Get an example',
    description:
      `One example of yours: ${EXAMPLE_FIELDS}. Poll it after create_example until status is COMPLETED (then ` +
      'get_example_messages) or FAILED (error says why). Someone else\'s or an unknown id: error not_found.',
    input: z.object({ example_id: idArgument('The example id.') }),
    annotations: READ_ONLY,
    run: async ({ example_id }) => toolResult(toExampleResponse(await getExample(db, auth, example_id))),
  });

  defineTool(server, context, {
    name: 'create_example',
    title: 'Request a training example from a session',
    description:
      'Requests a training example (status PENDING) from a ready session of yours and hands the job to the ' +
      `pipelines service. Returns \`{ example: ${EXAMPLE_FIELDS}, replayed }\`; replayed is true when an earlier ` +
      'call with the same idempotency_key answered. Errors: not_found (session), conflict (session not ready), ' +
      'validation_error (unknown model, or the suite has no or several action-tool maps: name one), payment_required ' +
      '(billing on, and the account may not incur cost now).',
    input: CreateExampleInput,
    annotations: CREATES,
    run: async ({ idempotency_key, ...fields }) => {
      // Parsed again as the REST body, so that one Idempotency-Key fingerprints the same request by both routes.
      const body = CreateExampleBodySchema.parse(fields);
      await assertMayIncurCost(context.costCheck, auth.userId);
      const created = await createExample(db, blobs, auth, body, idempotency_key ?? null);
      if (created.job) {
        await dispatchJob(db, context.exampleJobs, created.example.id, created.job, (message) => context.log.warn(message));
      }
      return toolResult(
        { example: created.example, replayed: created.replayed },
        `Call get_example with example_id ${created.example.id} until its status is COMPLETED or FAILED.`,
      );
    },
  });

  defineTool(server, context, {
    name: 'get_example_messages',
    title: 'Get the training messages of a completed example',
    description:
      'The training messages of a COMPLETED example of yours. format raw (default): the chat messages as stored ' +
      '(system, user, assistant with text or tool_calls, tool results), `{ example_id, format, inline: true, ' +
      'size_bytes, line_count, messages: [...], resource_uri }`. format openai, vertex, anthropic or trl: the whole ' +
      'conversation as one line of that provider\'s fine-tuning file, with the tool definitions of its action-tool ' +
      'map, `{ example_id, format, inline: true, size_bytes, record: {...} }`. Up to ' +
      `${MAX_INLINE_MESSAGES_BYTES} bytes come inline; larger ones are not read: \`{ example_id, format, inline: ` +
      'false, size_bytes, limit_bytes, download: { method, url, headers } }` names the REST download (GET with your ' +
      'API key). Errors: not_found, conflict (not COMPLETED yet), validation_error (an example too large to convert).',
    input: z.object({
      example_id: idArgument('The example id; the example must be COMPLETED.'),
      format: MessageFormatSchema.default('raw').describe('raw (as stored), or openai, vertex, anthropic, trl.'),
    }),
    annotations: READ_ONLY,
    run: async ({ example_id, format }) => {
      const example = await getCompletedExample(db, auth, example_id);
      const tooLarge = (sizeBytes: number) => {
        const download = messagesDownload(context, example.id, format);
        return toolResult(
          { example_id: example.id, format, inline: false, size_bytes: sizeBytes, limit_bytes: MAX_INLINE_MESSAGES_BYTES, download },
          `The messages are ${sizeBytes} bytes, over the ${MAX_INLINE_MESSAGES_BYTES}-byte inline limit. ` +
            `Download them with GET ${download.url} and your API key in the X-API-Key header.`,
        );
      };
      if (format !== 'raw') {
        const line = await formatExampleMessages(db, blobs, example, format);
        const sizeBytes = Buffer.byteLength(line);
        if (sizeBytes > MAX_INLINE_MESSAGES_BYTES) return tooLarge(sizeBytes);
        return toolResult({ example_id: example.id, format, inline: true, size_bytes: sizeBytes, record: JSON.parse(line) as unknown });
      }
      const messages = await readMessagesInline(blobs, example.id);
      if (!messages.inline) return tooLarge(messages.sizeBytes);
      const lines = parseJsonLines(messages.text);
      return toolResult({
        example_id: example.id,
        format,
        inline: true,
        size_bytes: messages.sizeBytes,
        line_count: lines.length,
        messages: lines,
        resource_uri: exampleMessagesUri(example.id),
      });
    },
  });
}
