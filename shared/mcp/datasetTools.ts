import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateDatasetBodySchema, CreateDatasetFields, DATASET_FILE_NAMES, DatasetListQuery } from '../datasets/datasetSchemas.js';
import { assertMayIncurCost } from '../billing/costPermission.js';
import { toDatasetResponse } from '../datasets/datasetResponse.js';
import { createDataset, getDataset, listDatasets } from '../datasets/datasetService.js';
import { z } from '../openapi/zod.js';
import { defineTool, describeFields, idArgument, PAGE_FIELD_DESCRIPTIONS } from './defineTool.js';
import type { McpRequestContext } from './mcpContext.js';
import { CREATES, READ_ONLY, toolResult } from './toolResults.js';

const DATASET_FIELDS =
  '{ id, name, status: building | ready | failed, format, filters, validation_split, seed, dedupe, counts: ' +
  '{ matched, duplicates, skipped, train, validation } | null, files: { train, validation } | null, lint: { format, ' +
  'errors, warnings, rules_checked } | null, error, created_at, updated_at, completed_at }';

/** How to fetch a ready dataset's files: the REST download, which streams them (or answers a signed URL). */
function fileDownloads(context: McpRequestContext, datasetId: string) {
  return Object.fromEntries(
    DATASET_FILE_NAMES.map((file) => [
      file,
      {
        method: 'GET' as const,
        url: `${context.apiBaseUrl}/v1/datasets/${datasetId}/files/${file}`,
        headers: { 'X-API-Key': '<your API key>' },
        content_type: 'application/jsonl',
        signed_url: `${context.apiBaseUrl}/v1/datasets/${datasetId}/files/${file}?download=url`,
      },
    ]),
  );
}

/** The dataset operations of /v1/datasets, with the same services and rules. */
export function registerDatasetTools(server: McpServer, context: McpRequestContext): void {
  const { db, auth } = context;

  defineTool(server, context, {
    name: 'create_dataset',
    title: 'Build a fine-tuning dataset from your completed examples',
    description:
      'Starts building a dataset (status building) of your COMPLETED examples that match every filter given, in one ' +
      'provider\'s fine-tuning format (openai, vertex, anthropic, trl), shuffled and split by seed, duplicates ' +
      `dropped unless dedupe is false. Returns ${DATASET_FIELDS}. Poll get_dataset until ready (files, counts, lint ` +
      'report) or failed (error). Errors: validation_error (unknown format, suite or model), forbidden (a suite your ' +
      'key is not limited to), conflict (too many builds at once).',
    input: describeFields(CreateDatasetFields, {
      name: 'A name for the dataset, 1-100 characters.',
      format: 'openai | vertex | anthropic | trl: the fine-tuning format of every line.',
      suite_id: 'Only examples of this suite.',
      session_ids: 'Only examples of these sessions (at most 1000).',
      model_id: 'Only examples generated with this model.',
      created_after: 'Only examples created at or after this time (ISO 8601).',
      created_before: 'Only examples created before this time (ISO 8601).',
      validation_split: 'Share of examples in validation.jsonl, 0 to 0.5 (default 0).',
      seed: 'Orders and splits the examples; the same seed gives the same files. Random when left out.',
      dedupe: 'Drop examples whose normalized conversation another already has (default true).',
    }),
    annotations: CREATES,
    run: async (args) => {
      // Parsed again with the REST body's schema (its cross-field rule included).
      const body = CreateDatasetBodySchema.parse(args);
      await assertMayIncurCost(context.costCheck, auth.userId);
      const { dataset } = await createDataset(db, context.datasetBuilds, auth, body, (message) => context.log.warn(message));
      return toolResult(dataset, `Call get_dataset with dataset_id ${dataset.id} until its status is ready or failed.`);
    },
  });

  defineTool(server, context, {
    name: 'get_dataset',
    title: 'Get a dataset',
    description:
      `One dataset of yours: ${DATASET_FIELDS}, and once ready \`downloads\`: how to fetch train.jsonl and ` +
      'validation.jsonl (GET with your API key streams the file; signed_url answers a 15-minute link that needs no ' +
      'key). Someone else\'s or an unknown id: error not_found.',
    input: z.object({ dataset_id: idArgument('The dataset id.') }),
    annotations: READ_ONLY,
    run: async ({ dataset_id }) => {
      const dataset = toDatasetResponse(await getDataset(db, auth, dataset_id));
      return toolResult(dataset.status === 'ready' ? { ...dataset, downloads: fileDownloads(context, dataset.id) } : dataset);
    },
  });

  defineTool(server, context, {
    name: 'list_datasets',
    title: 'List your datasets',
    description: `Your datasets, newest first, optionally by status. Returns \`{ items: [${DATASET_FIELDS}], total, page, per_page }\`.`,
    input: describeFields(DatasetListQuery, { ...PAGE_FIELD_DESCRIPTIONS, status: 'Only datasets in this status.' }),
    annotations: READ_ONLY,
    run: async (args) => toolResult(await listDatasets(db, auth, args)),
  });
}
