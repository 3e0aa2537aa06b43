import { TaskState } from '@a2a-js/sdk';
import type { ExecutionEventBus, RequestContext } from '@a2a-js/sdk/server';
import { assertMayIncurCost, type CostCheckDeps } from '../billing/costPermission.js';
import { CreateDatasetBodySchema, CreateDatasetFields } from '../datasets/datasetSchemas.js';
import { createDataset } from '../datasets/datasetService.js';
import type { JsonObject } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { callerOf } from './a2pCaller.js';
import { SKILL_IDS } from './agentCard.js';
import { acceptsInput, publishTaskOutcome, takesNoMoreInput, type Outcome } from './taskOutcome.js';
import type { TaskProgressDeps } from './taskProgress.js';
import { dataOf } from './traceRequest.js';

/*
 * build-dataset: a data part with POST /v1/datasets's body (and `skill: "build-dataset"`) creates the dataset, as
 * the REST call would, and the task follows its build (datasetTaskProgress.ts): WORKING, then COMPLETED with the
 * files as the artifact, or FAILED. Without `name` or `format` the task asks for them (INPUT_REQUIRED; a reply on
 * the task completes the request); a wrong value, or a refusal of the REST rules, rejects it.
 */

const REQUIRED_FIELDS = ['name', 'format'] as const;
const KNOWN_FIELDS = new Set([...Object.keys(CreateDatasetFields.shape), 'skill']);

/** A dataset's files are stored, and storage is billed: the build passes the cost check (costPermission.ts). */
type BuildDatasetDeps = TaskProgressDeps & { costCheck: CostCheckDeps };

export async function runBuildDataset(deps: BuildDatasetDeps, request: RequestContext, bus: ExecutionEventBus) {
  const outcome = acceptsInput(request)
    ? await accept(deps, request)
    : takesNoMoreInput(request.task as NonNullable<RequestContext['task']>);
  publishTaskOutcome(bus, request, SKILL_IDS.buildDataset, outcome);
}

const rejected = (text: string): Outcome => ({ state: TaskState.TASK_STATE_REJECTED, text, metadata: {} });

async function accept(deps: BuildDatasetDeps, request: RequestContext): Promise<Outcome> {
  const earlier = (request.task?.metadata?.received ?? {}) as Record<string, unknown>;
  const given = dataOf(request.userMessage);
  const unknown = Object.keys(given).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) {
    return rejected(`Unknown field(s) in the data part: ${unknown.join(', ')}. Known: ${[...KNOWN_FIELDS].join(', ')}.`);
  }
  const { skill: _skill, ...fields } = { ...earlier, ...given };
  const missing = REQUIRED_FIELDS.filter((field) => fields[field] === undefined);
  if (missing.length > 0) {
    return {
      state: TaskState.TASK_STATE_INPUT_REQUIRED,
      text:
        `Missing: ${missing.join(', ')}. Reply on this task (taskId ${request.taskId}) with a data part ` +
        '{ "name": "...", "format": "openai" | "vertex" | "anthropic" | "trl", "suite_id"?, "session_ids"?, ' +
        '"model_id"?, "created_after"?, "created_before"?, "validation_split"?, "seed"?, "dedupe"? }.',
      metadata: { received: fields as JsonObject },
    };
  }
  const parsed = CreateDatasetBodySchema.safeParse(fields);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'data'}: ${issue.message}`);
    return rejected(`Invalid request: ${problems.join('; ')}.`);
  }
  try {
    await assertMayIncurCost(deps.costCheck, callerOf(request.context).userId);
    const { dataset } = await createDataset(deps.db, deps.datasetBuilds, callerOf(request.context), parsed.data, deps.log);
    return {
      state: TaskState.TASK_STATE_WORKING,
      text: `Dataset ${dataset.id} is building.`,
      metadata: { dataset_id: dataset.id },
    };
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) return rejected(error.message);
    deps.log(`A2P build-dataset failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return {
      state: TaskState.TASK_STATE_FAILED,
      text: 'The dataset could not be created (a service is unavailable); nothing was kept. Try again shortly.',
      metadata: {},
    };
  }
}
