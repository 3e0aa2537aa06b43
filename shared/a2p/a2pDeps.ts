import type { InvocationDeps } from '../runtime/appDeps.js';
import { DATASET_BUILDS_QUEUE, EXAMPLE_JOBS_QUEUE } from '../storage/layout.js';
import type { TaskLink } from './taskRepository.js';
import { lazily } from '../runtime/lazily.js';
import type { TaskProgressDeps } from './taskProgress.js';

// Task progress speaks @a2a-js/sdk: loaded when a task first moves, not with the functions that report changes.
const taskProgress = lazily(() => import('./taskProgress.js'));

/** The clients A2P works with; its lines go to the invocation's log as warnings. */
export async function a2pDeps(deps: InvocationDeps): Promise<TaskProgressDeps> {
  return {
    db: deps.db,
    blobs: await deps.storage.blobs(),
    exampleJobs: await deps.storage.queue(EXAMPLE_JOBS_QUEUE),
    datasetBuilds: await deps.storage.queue(DATASET_BUILDS_QUEUE),
    config: deps.config,
    clock: deps.clock,
    log: (message) => deps.logger.warn(message),
  };
}

/**
 * Moves on the A2P tasks that follow a session, example or dataset which just changed. Best effort: a failure is logged,
 * not thrown (the change itself stands), and the task catches up the next time it is read.
 */
export async function advanceA2pTasksOf(deps: InvocationDeps, link: TaskLink): Promise<void> {
  try {
    const { advanceTasksOf } = await taskProgress();
    await advanceTasksOf(await a2pDeps(deps), link);
  } catch (error) {
    deps.logger.warn(`Advancing the A2P tasks of ${JSON.stringify(link)} failed; they catch up when read: ${String(error)}`);
  }
}
