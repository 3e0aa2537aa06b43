import { TaskState } from '@a2a-js/sdk';
import { AgentEvent, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import type { JsonObject } from '../db/schema.js';
import { taskStatus } from './agentMessages.js';

/** How a task-making skill answers a request: the state it puts the task in, why, and what it records. */
export interface Outcome {
  state: TaskState;
  text: string;
  metadata: JsonObject;
}

/** A follow-up message to a task that asks for nothing: it changes nothing. */
export function takesNoMoreInput(existing: NonNullable<RequestContext['task']>): Outcome {
  return {
    state: existing.status?.state ?? TaskState.TASK_STATE_WORKING,
    text: 'This task is under way and takes no more input: poll it with GetTask, or cancel it with CancelTask.',
    metadata: {},
  };
}

/** Whether the request is new, or answers a task that asked for input (else the task takes no more input). */
export function acceptsInput(request: RequestContext): boolean {
  return !request.task || request.task.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED;
}

/**
 * Publishes the task (with what the request set up), then its state, as the SDK's ResultManager expects. The
 * executor returns at once; the client polls (GetTask), as A2A's asynchronous tasks expect.
 */
export function publishTaskOutcome(bus: ExecutionEventBus, request: RequestContext, skill: string, outcome: Outcome): void {
  const ids = { taskId: request.taskId, contextId: request.contextId };
  const existing = request.task;
  bus.publish(
    AgentEvent.task({
      id: ids.taskId,
      contextId: ids.contextId,
      status: existing?.status ?? taskStatus(TaskState.TASK_STATE_SUBMITTED, ids, 'Received.'),
      artifacts: [],
      history: [],
      metadata: { ...(existing?.metadata ?? {}), skill, ...outcome.metadata },
    }),
  );
  bus.publish(
    AgentEvent.statusUpdate({
      taskId: ids.taskId,
      contextId: ids.contextId,
      status: taskStatus(outcome.state, ids, outcome.text),
      metadata: undefined,
    }),
  );
}
