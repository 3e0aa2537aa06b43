import { getConfig } from '../config.js';
import { getDb } from '../db/index.js';
import { getBlobServiceClient, getQueueServiceClient } from '../storage/clients.js';
import { DATASET_BUILDS_QUEUE, EXAMPLE_JOBS_QUEUE } from '../storage/layout.js';
import type { TaskLink } from './taskRepository.js';
import { advanceTasksOf, type TaskProgressDeps } from './taskProgress.js';

/** The process-wide clients A2P works with. */
export function a2pDeps(log: (message: string) => void): TaskProgressDeps {
  return {
    db: getDb(),
    blobs: getBlobServiceClient(),
    exampleJobs: getQueueServiceClient().getQueueClient(EXAMPLE_JOBS_QUEUE),
    datasetBuilds: getQueueServiceClient().getQueueClient(DATASET_BUILDS_QUEUE),
    config: getConfig(),
    log,
  };
}

/**
 * Moves on the A2P tasks that follow a session, example or dataset which just changed. Best effort: a failure is logged,
 * not thrown (the change itself stands), and the task catches up the next time it is read.
 */
export async function advanceA2pTasksOf(
  link: TaskLink,
  log: (message: string) => void,
): Promise<void> {
  try {
    await advanceTasksOf(a2pDeps(log), link);
  } catch (error) {
    log(`Advancing the A2P tasks of ${JSON.stringify(link)} failed; they catch up when read: ${String(error)}`);
  }
}
