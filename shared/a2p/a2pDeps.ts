import { getConfig } from '../config.js';
import { getDb } from '../db/index.js';
import { getBlobServiceClient, getQueueClient } from '../storage/storageAccess.js';
import { DATASET_BUILDS_QUEUE, EXAMPLE_JOBS_QUEUE } from '../storage/layout.js';
import type { TaskLink } from './taskRepository.js';
import { lazily } from '../runtime/lazily.js';
import type { TaskProgressDeps } from './taskProgress.js';

// Task progress speaks @a2a-js/sdk: loaded when a task first moves, not with the functions that report changes.
const taskProgress = lazily(() => import('./taskProgress.js'));

/** The process-wide clients A2P works with. */
export async function a2pDeps(log: (message: string) => void): Promise<TaskProgressDeps> {
  return {
    db: getDb(),
    blobs: await getBlobServiceClient(),
    exampleJobs: await getQueueClient(EXAMPLE_JOBS_QUEUE),
    datasetBuilds: await getQueueClient(DATASET_BUILDS_QUEUE),
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
    const { advanceTasksOf } = await taskProgress();
    await advanceTasksOf(await a2pDeps(log), link);
  } catch (error) {
    log(`Advancing the A2P tasks of ${JSON.stringify(link)} failed; they catch up when read: ${String(error)}`);
  }
}
