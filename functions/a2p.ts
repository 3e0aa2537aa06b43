import type { HttpRequest } from '@azure/functions';
import type { ReadableStream } from 'node:stream/web';
import { authenticateRequest } from '../shared/auth/authenticate.js';
import type { RateLimitBucket } from '../shared/auth/rateLimitBuckets.js';
import { ANY_SCOPE } from '../shared/auth/scopes.js';
import { a2pDeps } from '../shared/a2p/a2pDeps.js';
import { A2P_LIMITS } from '../shared/a2p/a2pLimits.js';
import { A2pRequestBodySchema, A2pResponseBodySchema, AgentCardSchema } from '../shared/a2p/a2pSchemas.js';
import { A2A_VERSION_HEADER, A2P_PATH, AGENT_CARD_ROUTE } from '../shared/a2p/a2pPaths.js';
import { recordA2pRequest } from '../shared/a2p/auditLog.js';
import type { JsonRpcExchange } from '../shared/a2p/jsonRpcEndpoint.js';
import type { Config } from '../shared/config.js';
import { ApiError } from '../shared/errors/apiError.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { readBodyText } from '../shared/http/requestBody.js';
import { jsonResponse } from '../shared/http/responses.js';
import { API_VERSION } from '../shared/openapi/registry.js';
import type { InvocationDeps } from '../shared/runtime/appDeps.js';
import { lazily } from '../shared/runtime/lazily.js';

const TAGS = ['Agents'];
// The agent's modules, and @a2a-js/sdk with them, load with the first A2P request (shared/runtime/lazily.ts).
const agentCard = lazily(() => import('../shared/a2p/agentCard.js'));
const jsonRpcEndpoint = lazily(() => import('../shared/a2p/jsonRpcEndpoint.js'));
const a2pRequestHandler = lazily(() => import('../shared/a2p/a2pRequestHandler.js'));

function baseUrlOf(config: Config, requestUrl: string): string {
  return config.publicBaseUrl ?? new URL(requestUrl).origin;
}

defineRoute({
  operationId: 'getAgentCard',
  method: 'GET',
  path: AGENT_CARD_ROUTE,
  tags: TAGS,
  summary: 'A2A agent card',
  description:
    'Describes the A2P agent (Agent2Agent protocol): its JSON-RPC endpoint `/v1/a2p` for A2A 1.0 and 0.3, the ' +
    'API-key security scheme (`X-API-Key`), and its skills: process-trace, build-dataset, catalog, usage. ' +
    'Clients sending ' +
    '`A2A-Version: 1.0` get the 1.0 card; others the 0.3 shape. Public.',
  auth: 'public',
  responses: { 200: { description: 'The agent card.', schema: AgentCardSchema } },
  handler: async ({ request, deps }) => {
    const { agentCardJson, buildAgentCard } = await agentCard();
    const card = buildAgentCard(baseUrlOf(deps.config, request.url), API_VERSION);
    return jsonResponse(200, agentCardJson(card, request.headers.get(A2A_VERSION_HEADER)), {
      'Cache-Control': 'public, max-age=300',
      Vary: A2A_VERSION_HEADER,
    });
  },
});

defineRoute({
  operationId: 'sendAgentRequest',
  method: 'POST',
  path: A2P_PATH,
  tags: TAGS,
  summary: 'A2P: agent-to-platform requests over A2A (JSON-RPC)',
  description:
    'The Agent2Agent protocol over JSON-RPC 2.0: `SendMessage`, `GetTask`, `ListTasks`, `CancelTask` (A2A 1.0, ' +
    'header `A2A-Version: 1.0`), or `message/send`, `tasks/get`, `tasks/cancel` (A2A 0.3: no header, or 0.3). ' +
    'Skills and their inputs are in the agent card. A trace sent as a file part (inline bytes, at most ' +
    `${A2P_LIMITS.inlineTraceBytes} bytes; or the URL of one of your sessions' trace in Tracepipe storage) with a ` +
    'data part `{ suite_id, model_id, model_configuration? }` becomes a session, then an example; the task follows ' +
    'them (WORKING, then COMPLETED with messages.jsonl as an artifact: inline up to ' +
    `${A2P_LIMITS.inlineArtifactBytes} bytes, else a download link signed afresh at every read, valid 15 minutes), ` +
    'or REJECTED (invalid trace or request), INPUT_REQUIRED (suite_id, model_id or the file missing), FAILED, ' +
    'CANCELED. A data part `{ skill: "build-dataset", name, format, ... }` (POST /v1/datasets\'s body) builds a ' +
    'dataset; its task follows the build and ends COMPLETED with the files as links, or FAILED. ' +
    'Tasks are your own: another user\'s is "task not found". Protocol errors are JSON-RPC errors with ' +
    `HTTP 200; a body over ${A2P_LIMITS.requestBytes} bytes is 413 in the API's error shape, as a 401 is. Streaming and push notifications are not ` +
    'offered: poll GetTask. An inline trace also counts against the session-creation rate limit. Every request ' +
    'is recorded for audit (user, key, method, task, outcome, time).',
  auth: 'apiKey',
  // Tasks and catalog questions are for any key; each skill checks its own scope (shared/a2p/agentCard.ts).
  scope: ANY_SCOPE,
  maxBodyBytes: A2P_LIMITS.requestBytes,
  responses: {
    200: { description: 'The JSON-RPC response: a result, or an error object.', schema: A2pResponseBodySchema },
  },
  openapi: {
    request: { body: { required: true, content: { 'application/json': { schema: A2pRequestBodySchema } } } },
  },
  handler: async ({ auth, bodyStream, request, context, deps }) => {
    const started = performance.now();
    const log = (message: string) => context.warn(message);
    const body = await readBody(bodyStream, request);
    const exchange =
      typeof body !== 'string'
        ? body
        : await (await jsonRpcEndpoint()).exchangeJsonRpc({ handler: await requestHandlerFor(deps, request), headers: request.headers, body, auth, log });
    await recordA2pRequest(deps.db, {
      requestId: context.invocationId,
      userId: auth.userId,
      apiKeyId: auth.apiKeyId,
      method: exchange.method,
      protocolVersion: exchange.protocolVersion,
      taskId: exchange.taskId,
      error: exchange.response.error ?? null,
      durationMs: performance.now() - started,
    }).catch((error: unknown) => context.error('A2P audit record failed:', error));
    return jsonResponse(
      200,
      exchange.response,
      exchange.extensionsHeader ? { [exchange.extensionsHeader.name]: exchange.extensionsHeader.value } : {},
    );
  },
});

async function requestHandlerFor(deps: InvocationDeps, request: HttpRequest) {
  const handlerDeps = {
    ...(await a2pDeps(deps)),
    countAgainst: async (bucket: RateLimitBucket) => {
      await authenticateRequest(deps, request, bucket);
    },
    costCheck: { db: deps.db, config: deps.config, stripe: await deps.stripe.client(), clock: deps.clock },
  };
  const [{ createA2pRequestHandler }, { buildAgentCard }] = await Promise.all([a2pRequestHandler(), agentCard()]);
  return createA2pRequestHandler(handlerDeps, buildAgentCard(baseUrlOf(deps.config, request.url), API_VERSION));
}

/** The body as text or, when it is not UTF-8, the JSON-RPC parse error (over the limit is the route's 413). */
async function readBody(bodyStream: ReadableStream<Uint8Array> | null, request: HttpRequest): Promise<string | JsonRpcExchange> {
  try {
    return await readBodyText(bodyStream);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'bad_request') throw error;
    const { JSON_RPC } = await jsonRpcEndpoint();
    return {
      response: { jsonrpc: '2.0', id: null, error: { code: JSON_RPC.parseError, message: error.message } },
      method: null,
      taskId: null,
      protocolVersion: request.headers.get(A2A_VERSION_HEADER) || '0.3',
    };
  }
}
