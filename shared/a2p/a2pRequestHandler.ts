import type { AgentCard } from '@a2a-js/sdk';
import { DefaultRequestHandler } from '@a2a-js/sdk/server';
import { PostgresTaskStore } from './postgresTaskStore.js';
import type { ProcessTraceDeps } from './processTraceSkill.js';
import { refreshTask } from './taskProgress.js';
import { createTracepipeAgentExecutor } from './tracepipeAgentExecutor.js';

/**
 * The SDK's request handler over our task store and agent. `keepBusAliveStates: []`: on Functions nothing outlives
 * the request, so no task's in-memory event bus is kept for a later message (which may reach another instance);
 * a task waiting for input is resumed from the database like any other.
 */
export function createA2pRequestHandler(deps: ProcessTraceDeps, card: AgentCard): DefaultRequestHandler {
  const store = new PostgresTaskStore(deps.db, (row, options) => refreshTask(deps, row, options));
  return new DefaultRequestHandler(
    card,
    store,
    createTracepipeAgentExecutor(deps),
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    { keepBusAliveStates: [] },
  );
}
