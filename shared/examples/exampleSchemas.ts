import { DATASET_FORMATS, EXAMPLE_STATUSES } from '../db/schema.js';
import { FREE_FORM_LIMITS, freeFormObject } from '../validation/freeFormObject.js';
import { pageSchema, PaginationQuery } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';

/** model_configuration is passed to the pipelines service as is; it is bounded to keep jobs small. */
export const MAX_MODEL_CONFIGURATION_BYTES = 16 * 1024;

export const ModelConfiguration = freeFormObject({ ...FREE_FORM_LIMITS, maxBytes: MAX_MODEL_CONFIGURATION_BYTES })
  .openapi({
    description:
      `Free-form settings for the model (temperature...), at most ${MAX_MODEL_CONFIGURATION_BYTES} bytes of JSON, ` +
      `nested at most ${FREE_FORM_LIMITS.maxDepth} objects or arrays deep.`,
    example: { temperature: 0.2 },
  });

export const CreateExampleBodySchema = z
  .object({
    session_id: z.uuid().openapi({ description: 'A session of yours in status `ready`.' }),
    model_id: z.uuid(),
    action_tool_map_id: z
      .uuid()
      .optional()
      .openapi({ description: "A map of the session's suite; omitted, the suite's only map is used." }),
    model_configuration: ModelConfiguration.default({}),
  })
  .openapi('CreateExample', {
    example: {
      session_id: '3c9a4b1e-2f6d-4a8b-9c0d-1e2f3a4b5c6d',
      model_id: '00000000-0000-4000-8000-000000000101',
      model_configuration: { temperature: 0.2 },
    },
  });

export type CreateExampleBody = z.infer<typeof CreateExampleBodySchema>;

const ExampleStatusSchema = z.enum(EXAMPLE_STATUSES).openapi('ExampleStatus');

export const ExampleSchema = z
  .object({
    id: z.uuid(),
    session_id: z.uuid(),
    suite_id: z.uuid(),
    model_id: z.uuid(),
    action_tool_map_id: z.uuid(),
    model_configuration: z.record(z.string(), z.unknown()),
    storage_path: z.string().openapi({ example: 'examples/5b7c.../' }),
    status: ExampleStatusSchema,
    error: z.string().nullable(),
    usage: z
      .object({ input_tokens: z.number().int(), output_tokens: z.number().int(), total_tokens: z.number().int() })
      .nullable()
      .openapi({ description: 'Token usage, once the pipelines service has reported it.' }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    completed_at: z.iso.datetime().nullable(),
    deleted_at: z.iso.datetime().nullable().openapi({
      description: 'When it was deleted (DELETE, with its session, by retention or erasure): its messages are gone, its status and usage stay.',
    }),
  })
  .openapi('Example');

export type ExampleResponse = z.infer<typeof ExampleSchema>;

export const ExamplePageSchema = pageSchema(ExampleSchema).openapi('ExamplePage');

export const ExampleListQuery = PaginationQuery.extend({
  session_id: z.uuid().optional(),
  suite_id: z.uuid().optional(),
  model_id: z.uuid().optional(),
  status: ExampleStatusSchema.optional(),
  include_deleted: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true')
    .openapi({ description: '`true` lists deleted examples too (they are left out by default).' }),
});

export type ExampleListInput = z.infer<typeof ExampleListQuery>;

export const ExampleParams = z.object({ id: z.uuid().openapi({ description: 'The example id.' }) });

/** raw: the stored file, one message per line; the others: one line in that provider's fine-tuning format. */
export const MESSAGE_FORMATS = ['raw', ...DATASET_FORMATS] as const;
export type MessageFormat = (typeof MESSAGE_FORMATS)[number];

export const MessageFormatSchema = z.enum(MESSAGE_FORMATS).openapi('MessageFormat', {
  description:
    'raw: the stored messages, one chat message per line (OpenAI\'s chat message shape). openai: OpenAI ' +
    'supervised fine-tuning (`{ messages, tools }`). vertex: Vertex AI Gemini tuning (`{ systemInstruction, ' +
    'contents, tools }`). anthropic: Anthropic Messages (`{ system, messages, tools }` with tool_use and ' +
    'tool_result blocks). trl: Hugging Face TRL (`{ messages, tools }`, arguments as objects). The non-raw ' +
    'formats put the whole conversation on one line with the tool definitions of the action-tool map.',
});

export const MessagesQuery = z.object({
  format: MessageFormatSchema.default('raw'),
  download: z
    .enum(['url'])
    .optional()
    .openapi({ description: '`url` (format raw only): answer with a short-lived read-only URL instead of the file.' }),
});

export const MessagesDownloadSchema = z
  .object({
    url: z.url(),
    expires_at: z.iso.datetime(),
    size_bytes: z.number().int(),
  })
  .openapi('MessagesDownload');

export const PipelineUpdateBodySchema = z
  .object({
    status: z.enum(['PROCESSING', 'COMPLETED', 'FAILED']),
    usage: z
      .object({ input_tokens: z.number().int().min(0), output_tokens: z.number().int().min(0) })
      .optional()
      .openapi({ description: 'Required with COMPLETED; recorded once per example.' }),
    error: z.string().max(4000).optional().openapi({ description: 'Why it failed, with FAILED.' }),
  })
  .openapi('PipelineExampleUpdate', {
    example: { status: 'COMPLETED', usage: { input_tokens: 12000, output_tokens: 3400 } },
  });

export type PipelineUpdateBody = z.infer<typeof PipelineUpdateBodySchema>;
