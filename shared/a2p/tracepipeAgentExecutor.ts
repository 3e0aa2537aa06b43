import type { Message } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import { UsageQuery } from '../billing/usageSchemas.js';
import { getMonthlyUsage } from '../billing/usageService.js';
import { assertScope } from '../auth/scopes.js';
import { ApiError } from '../errors/apiError.js';
import { validateInput } from '../validation/validateInput.js';
import { callerOf } from './a2pCaller.js';
import { SKILL_IDS, SKILL_SCOPES, type SkillId } from './agentCard.js';
import { agentMessage, dataPart, textPart } from './agentMessages.js';
import { answerCatalog, catalogRequestFromText } from './catalogSkill.js';
import { runBuildDataset } from './buildDatasetSkill.js';
import { runProcessTrace, type ProcessTraceDeps } from './processTraceSkill.js';
import { dataOf, fileParts } from './traceRequest.js';

const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

const HELP =
  'I can: process a trace (send the file with a data part { suite_id, model_id }); build a fine-tuning dataset ' +
  'of your completed examples (a data part { skill: "build-dataset", name, format, ... }); answer questions about ' +
  'the catalog ("list the suites", "tools of MCP server <id>", "models"); report your usage this month ("usage"). ' +
  'See the skills in /.well-known/agent-card.json.';

type Route = { skill: SkillId } | { help: string };

/**
 * Which skill a message is for: the one it names (data part or message metadata `skill`), else process-trace when it
 * carries a file or the trace request's fields, else a question read from its text. A reply to an existing task is
 * always for that task's skill (process-trace and build-dataset make tasks; `taskSkill` is the task's).
 */
export function routeMessage(message: Message, hasTask: boolean, taskSkill?: unknown): Route {
  if (hasTask) return { skill: taskSkill === SKILL_IDS.buildDataset ? SKILL_IDS.buildDataset : SKILL_IDS.processTrace };
  const data = dataOf(message);
  const named = data.skill ?? message.metadata?.skill;
  if (named !== undefined) {
    const known = Object.values(SKILL_IDS) as unknown[];
    return known.includes(named) ? { skill: named as SkillId } : { help: `Unknown skill ${JSON.stringify(named)}. ${HELP}` };
  }
  if (fileParts(message).length > 0 || 'suite_id' in data || 'model_id' in data) return { skill: SKILL_IDS.processTrace };
  const text = textOf(message).toLowerCase();
  if (/\b(usage|cost|costs|spend|spent|bill|billing|tokens?)\b/.test(text)) return { skill: SKILL_IDS.usage };
  if (/\bdatasets?\b/.test(text)) return { skill: SKILL_IDS.buildDataset };
  if (/\b(catalog|suites?|actions?|tools?|models?|servers?|mcp)\b/.test(text)) return { skill: SKILL_IDS.catalog };
  return { help: HELP };
}

function textOf(message: Message): string {
  return message.parts.map((part) => (part.content?.$case === 'text' ? part.content.value : '')).join(' ');
}

/** The A2A agent behind /v1/a2p. Questions are answered with a message at once; traces become tasks. */
export function createTracepipeAgentExecutor(deps: ProcessTraceDeps): AgentExecutor {
  return {
    async execute(request: RequestContext, bus: ExecutionEventBus) {
      const route = routeMessage(request.userMessage, request.task !== undefined, request.task?.metadata?.skill);
      if ('help' in route) return reply(bus, request, [textPart(route.help)]);
      try {
        assertScope(callerOf(request.context).scopes, SKILL_SCOPES[route.skill]);
      } catch (error) {
        return replyWithError(bus, request, error as ApiError);
      }
      switch (route.skill) {
        case SKILL_IDS.processTrace:
          return runProcessTrace(deps, request, bus);
        case SKILL_IDS.buildDataset:
          return runBuildDataset(deps, request, bus);
        case SKILL_IDS.catalog:
          return answer(deps, bus, request, 'catalog', () => {
            const data = dataOf(request.userMessage);
            const fromText = data.query === undefined ? catalogRequestFromText(textOf(request.userMessage)) : {};
            const query = { ...data, ...fromText };
            return answerCatalog(deps.db, query);
          });
        case SKILL_IDS.usage:
          return answer(deps, bus, request, 'usage', () => {
            const { skill: _skill, ...data } = dataOf(request.userMessage);
            const suiteId = UUID_IN_TEXT.exec(textOf(request.userMessage))?.[0]?.toLowerCase();
            const query = validateInput(UsageQuery, { ...(suiteId ? { suite_id: suiteId } : {}), ...data }, 'body');
            return getMonthlyUsage(deps.db, deps.config, callerOf(request.context), query, deps.clock());
          });
      }
    },
    // Only called while a task's event bus is alive in this process, which our tasks never leave behind
    // (keepBusAliveStates is empty): cancellation of a stored task is the request handler's own status update.
    async cancelTask() {},
  };
}

function reply(bus: ExecutionEventBus, request: RequestContext, parts: ReturnType<typeof textPart>[]): void {
  bus.publish(AgentEvent.message(agentMessage({ contextId: request.contextId }, parts)));
}

/**
 * The answer as a data part (what the REST API would return), or the API's error in its shape when refused; an
 * outage is logged and answered as `unavailable` without its internals.
 */
async function answer(
  deps: ProcessTraceDeps,
  bus: ExecutionEventBus,
  request: RequestContext,
  skill: string,
  run: () => Promise<unknown>,
) {
  try {
    const data = await run();
    reply(bus, request, [dataPart(data), textPart(`The ${skill} answer is in the data part.`)]);
  } catch (error) {
    const refusal =
      error instanceof ApiError && error.status < 500
        ? error
        : new ApiError('unavailable', 'A service this answer needs is unavailable; retry later.');
    if (refusal !== error) {
      deps.log(`A2P ${skill} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    replyWithError(bus, request, refusal);
  }
}

/** A refusal in the API's error shape, as the data part of the answer (no task is made). */
function replyWithError(bus: ExecutionEventBus, request: RequestContext, refusal: ApiError): void {
  reply(bus, request, [
    dataPart({ error: { code: refusal.code, message: refusal.message, details: refusal.details ?? {} } }),
    textPart(refusal.message),
  ]);
}
