import { DATASET_FORMATS, DATASET_STATUSES } from '../db/schema.js';
import { pageSchema, PaginationQuery } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';

/** The limits of a dataset request, named in the OpenAPI document and the README. */
export const DATASET_LIMITS = {
  nameLength: 100,
  sessionIds: 1000,
  maxValidationSplit: 0.5,
  maxSeed: 2_147_483_647,
  /** Builds of one user in progress at once; more are 409 until one ends. */
  buildsInProgress: 5,
} as const;

export const DATASET_FILE_NAMES = ['train.jsonl', 'validation.jsonl'] as const;
export type DatasetFileName = (typeof DATASET_FILE_NAMES)[number];

export const DatasetFormatSchema = z.enum(DATASET_FORMATS).openapi('DatasetFormat', {
  description:
    'The fine-tuning format of every line: openai (OpenAI supervised fine-tuning), vertex (Vertex AI Gemini ' +
    'tuning), anthropic (Anthropic Messages with tool_use blocks), trl (Hugging Face TRL conversational with tools).',
});

const Timestamp = z.iso.datetime({ offset: true });

/** The fields of POST /v1/datasets (the body schema adds the rule between the two times). */
export const CreateDatasetFields = z.object({
  name: z.string().trim().min(1).max(DATASET_LIMITS.nameLength),
  suite_id: z.uuid().optional().openapi({ description: 'Only examples of this suite.' }),
  session_ids: z
    .array(z.uuid())
    .min(1)
    .max(DATASET_LIMITS.sessionIds)
    .optional()
    .openapi({ description: `Only examples of these sessions (at most ${DATASET_LIMITS.sessionIds}).` }),
  model_id: z.uuid().optional().openapi({ description: 'Only examples generated with this model.' }),
  created_after: Timestamp.optional().openapi({ description: 'Only examples created at or after this time.' }),
  created_before: Timestamp.optional().openapi({ description: 'Only examples created before this time.' }),
  format: DatasetFormatSchema,
  validation_split: z
    .number()
    .min(0)
    .max(DATASET_LIMITS.maxValidationSplit)
    .default(0)
    .openapi({ description: 'The share of examples in validation.jsonl, 0 to 0.5 (rounded to whole examples).' }),
  seed: z
    .number()
    .int()
    .min(0)
    .max(DATASET_LIMITS.maxSeed)
    .optional()
    .openapi({ description: 'Orders and splits the examples; the same seed and examples give the same files. Random when left out.' }),
  dedupe: z
    .boolean()
    .default(true)
    .openapi({ description: 'Drop examples whose normalized conversation another example already has (counted).' }),
});

const timesInOrder = (body: z.infer<typeof CreateDatasetFields>) =>
  !body.created_after || !body.created_before || Date.parse(body.created_after) < Date.parse(body.created_before);

export const CreateDatasetBodySchema = CreateDatasetFields.refine(timesInOrder, {
  message: 'must be later than created_after',
  path: ['created_before'],
}).openapi('CreateDataset', {
  example: { name: 'gmail-v1', suite_id: '00000000-0000-4000-8000-000000000201', format: 'openai', validation_split: 0.1, seed: 42 },
});

export type CreateDatasetBody = z.infer<typeof CreateDatasetBodySchema>;

const LintFindingSchema = z
  .object({
    rule: z.string().openapi({ example: 'openai.min_examples' }),
    severity: z.enum(['error', 'warning']),
    message: z.string(),
    source: z.url().nullable().openapi({ description: 'The provider\'s page the rule comes from (null for findings of the build).' }),
    count: z.number().int().min(0).openapi({ description: 'Examples that break the rule (0 for rules on the whole dataset).' }),
    example_ids: z.array(z.string()).openapi({ description: 'The first 20 of them.' }),
  })
  .openapi('LintFinding');

export const LintReportSchema = z
  .object({
    format: DatasetFormatSchema,
    errors: z.array(LintFindingSchema).openapi({ description: 'What the provider refuses.' }),
    warnings: z.array(LintFindingSchema).openapi({ description: 'What the provider accepts but advises against, and what the build left out.' }),
    rules_checked: z.array(z.string()),
  })
  .openapi('LintReport', { description: 'The target format\'s documented rules, checked on every line and on the totals.' });

const DatasetFileSchema = z
  .object({
    name: z.enum(DATASET_FILE_NAMES),
    example_count: z.number().int().min(0),
    size_bytes: z.number().int().min(0),
    sha256: z.string().openapi({ description: 'Of the file\'s bytes, 64 hex characters.' }),
    url: z.string().openapi({ example: '/v1/datasets/0b8e.../files/train.jsonl' }),
  })
  .openapi('DatasetFile');

export const DatasetSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    status: z.enum(DATASET_STATUSES).openapi({ description: 'building, then ready (files, counts, lint) or failed (error).' }),
    format: DatasetFormatSchema,
    filters: z.object({
      suite_id: z.uuid().nullable(),
      session_ids: z.array(z.uuid()).nullable(),
      model_id: z.uuid().nullable(),
      created_after: z.iso.datetime().nullable(),
      created_before: z.iso.datetime().nullable(),
    }),
    validation_split: z.number(),
    seed: z.number().int(),
    dedupe: z.boolean(),
    counts: z
      .object({
        matched: z.number().int().openapi({ description: 'Completed examples that match the filters.' }),
        duplicates: z.number().int().openapi({ description: 'Dropped as duplicates of another example.' }),
        skipped: z.number().int().openapi({ description: 'Left out: messages gone, too large to convert, or not valid any more.' }),
        train: z.number().int(),
        validation: z.number().int(),
      })
      .nullable()
      .openapi({ description: 'Once ready.' }),
    files: z.object({ train: DatasetFileSchema, validation: DatasetFileSchema }).nullable().openapi({ description: 'Once ready.' }),
    lint: LintReportSchema.nullable(),
    error: z.string().nullable().openapi({ description: 'Why the build failed.' }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    completed_at: z.iso.datetime().nullable(),
  })
  .openapi('Dataset');

export type DatasetResponse = z.infer<typeof DatasetSchema>;

export const DatasetPageSchema = pageSchema(DatasetSchema).openapi('DatasetPage');

export const DatasetListQuery = PaginationQuery.extend({
  status: z.enum(DATASET_STATUSES).optional(),
});
export type DatasetListInput = z.infer<typeof DatasetListQuery>;

export const DatasetParams = z.object({ id: z.uuid().openapi({ description: 'The dataset id.' }) });

export const DatasetFileParams = DatasetParams.extend({
  name: z.enum(DATASET_FILE_NAMES).openapi({ description: 'train.jsonl or validation.jsonl.' }),
});

export const DatasetFileQuery = z.object({
  download: z
    .enum(['url'])
    .optional()
    .openapi({ description: '`url`: answer with a short-lived read-only URL instead of the file.' }),
});

export const DatasetFileDownloadSchema = z
  .object({ url: z.url(), expires_at: z.iso.datetime(), size_bytes: z.number().int() })
  .openapi('DatasetFileDownload');
