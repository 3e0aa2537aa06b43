import { app } from '@azure/functions';
import { advanceA2pTasksOf } from '../shared/a2p/a2pDeps.js';
import { buildDataset } from '../shared/datasets/datasetBuilder.js';
import { DatasetBuildMessageSchema } from '../shared/datasets/datasetBuildQueue.js';
import {
  CreateDatasetBodySchema,
  DATASET_LIMITS,
  DatasetFileDownloadSchema,
  DatasetFileParams,
  DatasetFileQuery,
  DatasetListQuery,
  DatasetPageSchema,
  DatasetParams,
  DatasetSchema,
} from '../shared/datasets/datasetSchemas.js';
import {
  createDataset,
  createDatasetFileDownload,
  deleteDataset,
  getDataset,
  listDatasets,
  openDatasetFileOf,
} from '../shared/datasets/datasetService.js';
import { toDatasetResponse } from '../shared/datasets/datasetResponse.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';
import { z } from '../shared/openapi/zod.js';
import { DOWNLOAD_URL_TTL_SECONDS } from '../shared/storage/blobReads.js';
import { DATASET_BUILDS_QUEUE } from '../shared/storage/layout.js';
import { MAX_CONVERSATION_BYTES } from '../shared/trainingFormats/exampleConversation.js';
import { invocationDeps } from '../shared/runtime/appDeps.js';

const TAGS = ['Datasets'];

defineRoute({
  operationId: 'createDataset',
  method: 'POST',
  path: '/v1/datasets',
  tags: TAGS,
  summary: 'Build a fine-tuning dataset from your completed examples',
  description:
    'Answers 202 with the dataset `building`; a background function then writes `datasets/<id>/train.jsonl` and ' +
    '`validation.jsonl` in the target `format`, one example a line, from your COMPLETED examples that match every ' +
    'filter given (suite, sessions, model, creation time; a suite-limited key sees its suites only). The examples ' +
    'are shuffled and split by `seed` (the same seed and examples give the same files); with `dedupe` (default) an ' +
    'example whose normalized conversation another already has is dropped and counted. Then `ready` with counts, ' +
    'sizes, sha256 and a lint report of the format\'s documented rules, or `failed` with the reason and no files. ' +
    `No matching examples is a ready, empty dataset. Examples over ${MAX_CONVERSATION_BYTES} bytes, or whose ` +
    `messages are gone, are left out and reported. At most ${DATASET_LIMITS.buildsInProgress} of your datasets ` +
    'build at once (409 beyond). An unknown `format` is 422. The files are stored and billed: like every paid ' +
    'operation, a build needs billing in order (402 `payment_required`) and the monthly budget not exhausted ' +
    '(402 `budget_exceeded`).',
  auth: 'apiKey',
  billable: true,
  body: CreateDatasetBodySchema,
  responses: { 202: { description: 'The dataset, building.', schema: DatasetSchema } },
  errors: ['forbidden', 'conflict'],
  handler: async ({ auth, body, context, deps }) => {
    const created = await createDataset(deps.db, await deps.storage.queue(DATASET_BUILDS_QUEUE), auth, body, (message) => context.warn(message));
    return jsonResponse(202, created.dataset, { Location: `/v1/datasets/${created.dataset.id}` });
  },
});

defineRoute({
  operationId: 'listDatasets',
  method: 'GET',
  path: '/v1/datasets',
  tags: TAGS,
  summary: 'List your datasets',
  description: 'Newest first, optionally by status.',
  auth: 'apiKey',
  query: DatasetListQuery,
  responses: { 200: { description: 'A page of datasets.', schema: DatasetPageSchema } },
  handler: async ({ auth, query, deps }) => jsonResponse(200, await listDatasets(deps.db, auth, query)),
});

defineRoute({
  operationId: 'getDataset',
  method: 'GET',
  path: '/v1/datasets/{id}',
  tags: TAGS,
  summary: 'A dataset, with its counts, files and lint report',
  description: 'Poll it after POST /v1/datasets until it is `ready` or `failed`. Someone else\'s dataset is 404.',
  auth: 'apiKey',
  params: DatasetParams,
  responses: { 200: { description: 'The dataset.', schema: DatasetSchema } },
  errors: ['not_found'],
  handler: async ({ auth, params, deps }) => jsonResponse(200, toDatasetResponse(await getDataset(deps.db, auth, params.id))),
});

defineRoute({
  operationId: 'deleteDataset',
  method: 'DELETE',
  path: '/v1/datasets/{id}',
  tags: TAGS,
  summary: 'Delete a dataset and its files',
  description: 'Deletes the files, then the dataset; a build in progress stops and keeps nothing. The examples stay.',
  auth: 'apiKey',
  params: DatasetParams,
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found'],
  handler: async ({ auth, params, deps }) => {
    await deleteDataset(deps.db, await deps.storage.blobs(), auth, params.id);
    return noContent();
  },
});

defineRoute({
  operationId: 'getDatasetFile',
  method: 'GET',
  path: '/v1/datasets/{id}/files/{name}',
  tags: TAGS,
  summary: 'A file of a ready dataset (JSONL), streamed',
  description:
    'Streams `train.jsonl` or `validation.jsonl` as `application/jsonl` with its `Content-Length`, one example a ' +
    'line in the dataset\'s format. 409 unless the dataset is ready. With `?download=url` it answers JSON instead: ' +
    `a read-only URL of the file in storage, valid for ${DOWNLOAD_URL_TTL_SECONDS / 60} minutes.`,
  auth: 'apiKey',
  params: DatasetFileParams,
  query: DatasetFileQuery,
  responses: {
    200: { description: 'The file, one example a line.', schema: z.string(), contentType: 'application/jsonl' },
  },
  errors: ['not_found', 'conflict'],
  openapi: {
    responses: {
      200: {
        description: 'The file (JSONL), or with `download=url` a short-lived download URL (JSON).',
        content: {
          'application/jsonl': { schema: z.string() },
          'application/json': { schema: DatasetFileDownloadSchema },
        },
      },
    },
  },
  handler: async ({ auth, params, query, deps }) => {
    if (query.download === 'url') {
      const link = await createDatasetFileDownload(deps.db, await deps.storage.blobs(), deps.config, auth, params.id, params.name);
      return jsonResponse(200, link);
    }
    const file = await openDatasetFileOf(deps.db, await deps.storage.blobs(), auth, params.id, params.name);
    return {
      status: 200,
      headers: {
        'Content-Type': 'application/jsonl; charset=utf-8',
        'Content-Length': String(file.sizeBytes),
        'Content-Disposition': `attachment; filename="${file.dataset.name.replace(/[^A-Za-z0-9._-]/g, '_')}-${params.name}"`,
      },
      body: file.stream,
    };
  },
});

// The builder: one message `{ dataset_id }` per build request (shared/datasets/datasetBuilder.ts).
app.storageQueue('buildDataset', {
  queueName: DATASET_BUILDS_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const parsed = DatasetBuildMessageSchema.safeParse(message);
    if (!parsed.success) {
      // Not ours to retry: a malformed message would fail the same way every time.
      context.error(`buildDataset: ignoring a message that is not { dataset_id }: ${JSON.stringify(message).slice(0, 200)}`);
      return;
    }
    const datasetId = parsed.data.dataset_id;
    const deps = invocationDeps(context);
    const log = (text: string) => context.log(text);
    const outcome = await buildDataset({ db: deps.db, blobs: await deps.storage.blobs(), log }, datasetId);
    context.log(`buildDataset ${datasetId}: ${outcome}`);
    if (outcome === 'ready' || outcome === 'failed') {
      await advanceA2pTasksOf(deps, { datasetId });
    }
  },
});

