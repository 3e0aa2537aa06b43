import { randomInt } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { Kysely } from 'kysely';
import type { AuthContext } from '../auth/authenticate.js';
import { assertCanCreateInSuite } from '../auth/suiteAccess.js';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { findModel } from '../examples/exampleRepository.js';
import { toPage, type Page } from '../validation/pagination.js';
import { suiteExists } from '../catalog/suiteRepository.js';
import type { DownloadLink } from '../storage/blobReads.js';
import { sendDatasetBuild } from './datasetBuildQueue.js';
import { createDatasetFileLink, deleteDatasetFiles, openDatasetFile } from './datasetFiles.js';
import {
  countBuildsInProgress,
  deleteUserDataset,
  findUserDataset,
  insertDataset,
  listUserDatasets,
  type DatasetRow,
} from './datasetRepository.js';
import {
  DATASET_LIMITS,
  type CreateDatasetBody,
  type DatasetFileName,
  type DatasetListInput,
  type DatasetResponse,
} from './datasetSchemas.js';
import { toDatasetResponse } from './datasetResponse.js';

function fieldError(field: string, message: string): ApiError {
  return ApiError.validation(message, { fields: [{ location: 'body', field, message }] });
}

export interface CreatedDataset {
  dataset: DatasetResponse;
  /** Whether the build request reached the queue (if not, the stalled-build timer sends it). */
  enqueued: boolean;
}

/**
 * Records the dataset (building) with its filters and the key's suite restriction, then asks a builder for it
 * through the queue. A suite outside a limited key is 403; an unknown suite or model is 422.
 */
export async function createDataset(
  db: Kysely<Database>,
  builds: QueueClient,
  auth: AuthContext,
  body: CreateDatasetBody,
  log: (message: string) => void,
): Promise<CreatedDataset> {
  if (body.suite_id) {
    assertCanCreateInSuite(auth, body.suite_id);
    if (!(await suiteExists(db, body.suite_id))) throw fieldError('suite_id', 'No such suite.');
  }
  if (body.model_id && !(await findModel(db, body.model_id))) throw fieldError('model_id', 'No such model.');
  if ((await countBuildsInProgress(db, auth.userId)) >= DATASET_LIMITS.buildsInProgress) {
    throw ApiError.conflict(
      `${DATASET_LIMITS.buildsInProgress} of your datasets are building already; create more once one is done.`,
      { reason: 'too_many_builds', limit: DATASET_LIMITS.buildsInProgress },
    );
  }
  const row = await insertDataset(db, {
    user_id: auth.userId,
    name: body.name,
    format: body.format,
    suite_id: body.suite_id ?? null,
    session_ids: body.session_ids ?? null,
    model_id: body.model_id ?? null,
    created_after: body.created_after ?? null,
    created_before: body.created_before ?? null,
    allowed_suite_ids: auth.suiteIds,
    validation_split: body.validation_split,
    seed: body.seed ?? randomInt(0, DATASET_LIMITS.maxSeed + 1),
    dedupe: body.dedupe,
  });
  let enqueued = true;
  try {
    await sendDatasetBuild(builds, row.id);
  } catch (error) {
    enqueued = false;
    log(`Enqueueing the build of dataset ${row.id} failed; the stalled-build timer will send it: ${String(error)}`);
  }
  return { dataset: toDatasetResponse(row), enqueued };
}

export async function getDataset(db: Kysely<Database>, auth: AuthContext, id: string): Promise<DatasetRow> {
  const row = await findUserDataset(db, auth.userId, id);
  if (!row) throw ApiError.notFound('No such dataset.');
  return row;
}

export async function listDatasets(db: Kysely<Database>, auth: AuthContext, filters: DatasetListInput): Promise<Page<DatasetResponse>> {
  const { rows, total } = await listUserDatasets(db, auth.userId, filters);
  return toPage(rows.map(toDatasetResponse), total, filters);
}

/**
 * Deletes the files first, then the row, so that a failure in between leaves a dataset that can be deleted again
 * rather than files that nothing points to. A build in progress notices and deletes what it writes afterwards.
 */
export async function deleteDataset(db: Kysely<Database>, blobs: BlobServiceClient, auth: AuthContext, id: string): Promise<void> {
  const row = await getDataset(db, auth, id);
  await deleteDatasetFiles(blobs, row.id);
  if (!(await deleteUserDataset(db, auth.userId, row.id))) throw ApiError.notFound('No such dataset.');
}

async function readyDataset(db: Kysely<Database>, auth: AuthContext, id: string): Promise<DatasetRow> {
  const row = await getDataset(db, auth, id);
  if (row.status !== 'ready') {
    throw ApiError.conflict(`The dataset is ${row.status}; its files exist once it is ready.`, { status: row.status });
  }
  return row;
}

const filesGone = () => ApiError.notFound('The files of this dataset are no longer stored.');

export async function openDatasetFileOf(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  auth: AuthContext,
  id: string,
  file: DatasetFileName,
) {
  const row = await readyDataset(db, auth, id);
  const blob = await openDatasetFile(blobs, row.id, file);
  if (!blob) throw filesGone();
  return { dataset: row, ...blob };
}

export async function createDatasetFileDownload(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  config: Config,
  auth: AuthContext,
  id: string,
  file: DatasetFileName,
): Promise<DownloadLink> {
  const row = await readyDataset(db, auth, id);
  const link = await createDatasetFileLink(blobs, config, row.id, file);
  if (!link) throw filesGone();
  return link;
}
