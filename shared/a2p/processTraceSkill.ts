import { TaskState } from '@a2a-js/sdk';
import type { ExecutionEventBus, RequestContext } from '@a2a-js/sdk/server';
import type { AuthContext } from '../auth/authenticate.js';
import type { RateLimitBucket } from '../auth/rateLimitBuckets.js';
import { assertCanCreateInSuite } from '../auth/suiteAccess.js';
import { assertMayIncurCost, type CostCheckDeps } from '../billing/costPermission.js';
import type { JsonObject } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { resolveModelAndMap } from '../examples/exampleService.js';
import { suiteExists } from '../catalog/suiteRepository.js';
import { createSessionFromBytes, findSessionByTraceUrl } from '../sessions/sessionService.js';
import { callerOf } from './a2pCaller.js';
import { SKILL_IDS } from './agentCard.js';
import { acceptsInput, publishTaskOutcome, takesNoMoreInput, type Outcome } from './taskOutcome.js';
import type { TaskProgressDeps } from './taskProgress.js';
import { readTraceRequest, type TraceFile, type TraceRequestFields } from './traceRequest.js';

export interface ProcessTraceDeps extends TaskProgressDeps {
  /** Counts the request against another of the key's per-minute limits (an inline trace creates a session). */
  countAgainst: (bucket: RateLimitBucket) => Promise<void>;
  /** A trace processed is a session stored and an example generated: both billed (shared/billing/costPermission.ts). */
  costCheck: CostCheckDeps;
}

/**
 * process-trace: accepts the request (or asks for what is missing, or rejects it) and turns the file into a
 * session, then hands the task to taskProgress.ts, which follows the session and the example from there on.
 */
export async function runProcessTrace(deps: ProcessTraceDeps, request: RequestContext, bus: ExecutionEventBus) {
  const outcome = acceptsInput(request)
    ? await accept(deps, callerOf(request.context), request, (request.task?.metadata?.received ?? {}) as Record<string, unknown>)
    : takesNoMoreInput(request.task as NonNullable<RequestContext['task']>);
  publishTaskOutcome(bus, request, SKILL_IDS.processTrace, outcome);
}

async function accept(
  deps: ProcessTraceDeps,
  auth: AuthContext,
  request: RequestContext,
  earlier: Record<string, unknown>,
): Promise<Outcome> {
  const parsed = readTraceRequest(request.userMessage, earlier);
  switch (parsed.kind) {
    case 'input_required':
      return {
        state: TaskState.TASK_STATE_INPUT_REQUIRED,
        text:
          `Missing: ${parsed.missing.join(', ')}. Reply on this task (taskId ${request.taskId}) with a data part ` +
          '{ "suite_id": "<uuid>", "model_id": "<uuid>", "model_configuration"?: {...} } and the trace as a file ' +
          'part: files are not kept while a task waits for input.',
        metadata: { received: parsed.received as JsonObject },
      };
    case 'rejected':
      return { state: TaskState.TASK_STATE_REJECTED, text: parsed.reason, metadata: {} };
    case 'ok':
      try {
        return await startProcessing(deps, auth, parsed.fields, parsed.file);
      } catch (error) {
        // Refusals of the REST API (a suite the key may not use, no such model...) reject the request; anything
        // else (storage or database down) fails it, with the detail in the log only.
        if (error instanceof ApiError && error.status < 500) {
          return { state: TaskState.TASK_STATE_REJECTED, text: refusalText(error), metadata: {} };
        }
        deps.log(`A2P process-trace failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        return {
          state: TaskState.TASK_STATE_FAILED,
          text: 'The trace could not be stored (a service is unavailable); nothing was kept. Try again shortly.',
          metadata: {},
        };
      }
  }
}

async function startProcessing(
  deps: ProcessTraceDeps,
  auth: AuthContext,
  fields: TraceRequestFields,
  file: TraceFile,
): Promise<Outcome> {
  assertCanCreateInSuite(auth, fields.suite_id);
  if (!(await suiteExists(deps.db, fields.suite_id))) {
    throw ApiError.validation('No such suite.', {
      fields: [{ location: 'body', field: 'suite_id', message: `Suite ${fields.suite_id} does not exist.` }],
    });
  }
  await resolveModelAndMap(deps.db, fields.suite_id, fields.model_id, fields.action_tool_map_id);
  await assertMayIncurCost(deps.costCheck, auth.userId);

  let sessionId: string;
  if (file.kind === 'url') {
    const session = await findSessionByTraceUrl(deps, auth, file.url);
    if (!session) {
      return rejected(
        "A file URL must be the trace of one of your sessions in Tracepipe's storage (the upload URL that " +
          'POST /v1/sessions returned, with or without its query). Other URLs are not fetched.',
      );
    }
    if (session.suite_id !== fields.suite_id) {
      return rejected(`Session ${session.id} is of suite ${session.suite_id}, not ${fields.suite_id}.`);
    }
    sessionId = session.id;
  } else {
    await deps.countAgainst('session_create');
    sessionId = (await createSessionFromBytes(deps, auth, { ...fields, file_name: file.filename }, file.bytes)).id;
  }
  return {
    state: TaskState.TASK_STATE_WORKING,
    text: `The trace is stored as session ${sessionId} and is being indexed.`,
    metadata: {
      session_id: sessionId,
      suite_id: fields.suite_id,
      model_id: fields.model_id,
      model_configuration: fields.model_configuration as JsonObject,
      ...(fields.action_tool_map_id ? { action_tool_map_id: fields.action_tool_map_id } : {}),
    },
  };
}

function rejected(text: string): Outcome {
  return { state: TaskState.TASK_STATE_REJECTED, text, metadata: {} };
}

function refusalText(error: ApiError): string {
  const fields = (error.details as { fields?: { field: string; message: string }[] } | undefined)?.fields;
  const named = fields?.length ? ` (${fields.map((field) => `${field.field}: ${field.message}`).join('; ')})` : '';
  return `${error.message}${named}`;
}
