import { TaskState, type AgentCard, type CancelTaskRequest, type Task } from '@a2a-js/sdk';
import { TaskNotCancelableError } from '@a2a-js/sdk/errors';
import { DefaultRequestHandler, type ServerCallContext, type TaskStore } from '@a2a-js/sdk/server';
import { webhookAddressPolicyOf } from '../webhooks/webhookAddressPolicy.js';
import { PostgresTaskStore } from './postgresTaskStore.js';
import { OUTBOX_PUSH_SENDER, PostgresPushNotificationStore } from './pushNotificationStore.js';
import type { ProcessTraceDeps } from './processTraceSkill.js';
import { refreshTask } from './taskProgress.js';
import { createTracepipeAgentExecutor } from './tracepipeAgentExecutor.js';

/**
 * The SDK's request handler with A2A's rule for canceling: a task in a terminal state, canceled included, is not
 * cancelable (TaskNotCancelableError, -32002: "e.g., it has already reached a terminal state like completed, failed,
 * or canceled", A2A specification, error codes). The SDK (1.3) answers an already canceled task with the task.
 */
class TracepipeRequestHandler extends DefaultRequestHandler {
  readonly #tasks: TaskStore;

  constructor(card: AgentCard, tasks: TaskStore, deps: ProcessTraceDeps) {
    const pushConfigs = new PostgresPushNotificationStore(deps.db, webhookAddressPolicyOf(deps.config));
    super(card, tasks, createTracepipeAgentExecutor(deps), undefined, pushConfigs, OUTBOX_PUSH_SENDER, undefined, undefined, {
      keepBusAliveStates: [],
    });
    this.#tasks = tasks;
  }

  override async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const task = await this.#tasks.load(params.id, context);
    if (task?.status?.state === TaskState.TASK_STATE_CANCELED) {
      throw new TaskNotCancelableError(`Task not cancelable: ${params.id} is already canceled.`);
    }
    return super.cancelTask(params, context);
  }
}

/**
 * The request handler over our task store and agent. `keepBusAliveStates: []`: on Functions nothing outlives the
 * request, so no task's in-memory event bus is kept for a later message (which may reach another instance); a task
 * waiting for input is resumed from the database like any other.
 */
export function createA2pRequestHandler(deps: ProcessTraceDeps, card: AgentCard): DefaultRequestHandler {
  const store = new PostgresTaskStore(deps.db, (row, options) => refreshTask(deps, row, options));
  return new TracepipeRequestHandler(card, store, deps);
}
