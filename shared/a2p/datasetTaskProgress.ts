import { Artifact, type Part } from '@a2a-js/sdk';
import { createDatasetFileLink } from '../datasets/datasetFiles.js';
import { findDatasetById, type DatasetRow } from '../datasets/datasetRepository.js';
import { DATASET_FILE_NAMES, type DatasetFileName } from '../datasets/datasetSchemas.js';
import { toDatasetResponse } from '../datasets/datasetResponse.js';
import type { JsonValue } from '../db/schema.js';
import { dataPart } from './agentMessages.js';
import type { TaskProgressDeps } from './taskProgress.js';
import type { TaskRow } from './taskRepository.js';
import { unlessSaid, type Step } from './taskStep.js';

/*
 * A build-dataset task follows its dataset: building -> WORKING; ready -> COMPLETED with the dataset's files as
 * the artifact (a read-only link to each, signed afresh whenever the task is read, and the dataset as a data
 * part: counts, sizes, digests, lint report); failed -> FAILED with the reason; deleted -> FAILED.
 */

const DATASET_ARTIFACT_ID = 'dataset-files';

export async function datasetStep(deps: TaskProgressDeps, row: TaskRow, datasetId: string): Promise<Step | undefined> {
  const dataset = await findDatasetById(deps.db, datasetId);
  if (!dataset || dataset.user_id !== row.user_id) {
    return { state: 'TASK_STATE_FAILED', text: 'The dataset of this task no longer exists.' };
  }
  switch (dataset.status) {
    case 'building':
      return unlessSaid(row, { state: 'TASK_STATE_WORKING', text: `Dataset ${dataset.id} is building.` });
    case 'failed':
      return { state: 'TASK_STATE_FAILED', text: `Dataset ${dataset.id} could not be built: ${dataset.error ?? 'no reason given'}` };
    case 'ready':
      return {
        state: 'TASK_STATE_COMPLETED',
        text:
          `Dataset ${dataset.id} is ready: ${dataset.train_count ?? 0} training and ${dataset.validation_count ?? 0} ` +
          `validation examples in the ${dataset.format} format.`,
        artifacts: [await datasetArtifact(deps, dataset)],
      };
  }
}

/** A read-only link to one file of a dataset, as an A2A file part; null when the file is gone. */
export async function datasetFileLinkPart(deps: TaskProgressDeps, datasetId: string, file: string): Promise<Part | null> {
  if (!(DATASET_FILE_NAMES as readonly string[]).includes(file)) return null;
  const link = await createDatasetFileLink(deps.blobs, deps.config, datasetId, file as DatasetFileName);
  if (!link) return null;
  return {
    content: { $case: 'url', value: link.url },
    metadata: { signed_link_expires_at: link.expires_at, size_bytes: link.size_bytes, dataset_id: datasetId, file },
    filename: file,
    mediaType: 'application/jsonl',
  };
}

async function datasetArtifact(deps: TaskProgressDeps, dataset: DatasetRow): Promise<JsonValue> {
  const files: Part[] = [];
  for (const file of DATASET_FILE_NAMES) {
    const part = await datasetFileLinkPart(deps, dataset.id, file);
    if (part) files.push(part);
  }
  return Artifact.toJSON({
    artifactId: DATASET_ARTIFACT_ID,
    name: dataset.name,
    description: `The dataset's files, train.jsonl and validation.jsonl: one example a line in the ${dataset.format} format.`,
    parts: [...files, dataPart(toDatasetResponse(dataset))],
    metadata: undefined,
    extensions: [],
  }) as JsonValue;
}
