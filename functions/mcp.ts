import { authenticateRequest } from '../shared/auth/authenticate.js';
import { ANY_SCOPE } from '../shared/auth/scopes.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { readBodyText } from '../shared/http/requestBody.js';
import { jsonResponse } from '../shared/http/responses.js';
import { MAX_MCP_REQUEST_BYTES, METHOD_NOT_ALLOWED_BODY, serveMcpPost } from '../shared/mcp/mcpHttp.js';
import { JsonRpcErrorResponseSchema, McpRequestBodySchema, McpResponseBodySchema } from '../shared/mcp/mcpSchemas.js';
import { lazily } from '../shared/runtime/lazily.js';
import { DATASET_BUILDS_QUEUE, EXAMPLE_JOBS_QUEUE } from '../shared/storage/layout.js';

const TAGS = ['Agents'];
// The server's tools and the MCP SDK load with the first MCP request (shared/runtime/lazily.ts).
const mcpServer = lazily(() => import('../shared/mcp/tracepipeMcpServer.js'));

defineRoute({
  operationId: 'postMcpMessage',
  method: 'POST',
  path: '/v1/mcp',
  tags: TAGS,
  summary: 'MCP server: Tracepipe\'s tools for LLM agents',
  description:
    'A Model Context Protocol server over Streamable HTTP, stateless: POST one JSON-RPC 2.0 message (or a batch) ' +
    'with `Accept: application/json, text/event-stream` and get the answer as JSON (202 with no body for ' +
    'notifications). No `Mcp-Session-Id` is issued; every request stands alone, so any MCP client connects with ' +
    'just this URL and its API key (`X-API-Key`, or `Authorization: Bearer <api key>`). Tools: list_suites, ' +
    'get_suite, list_mcp_servers, get_mcp_server, list_models, list_sessions, get_session, create_session, ' +
    'list_examples, get_example, create_example, get_example_messages (with a `format`), create_dataset, ' +
    'get_dataset, list_datasets, get_usage; resource template ' +
    '`tracepipe://examples/{id}/messages`. The tools follow the REST rules: your own data only, the key\'s suite ' +
    'restriction, and the per-key rate limits (each POST counts once; create_session also counts against the ' +
    'session-creation limit); create_session and create_example are billed (payment_required as over REST). ' +
    'A failed operation is a tool result with `isError: true` and ' +
    '`structuredContent.error` in the API\'s error shape, not an HTTP error; a tool the key\'s scopes do not reach ' +
    'is such an error too (`forbidden`). Transport refusals (malformed JSON-RPC 400, missing Accept 406, not JSON ' +
    `415) are JSON-RPC errors; a missing key (401, with \`WWW-Authenticate\` naming X-API-Key) and a body over ` +
    `${MAX_MCP_REQUEST_BYTES} bytes (413) are in the API's error shape.`,
  auth: 'apiKey',
  // Catalog tools are for any key; each tool checks its own scope (shared/mcp/defineTool.ts).
  scope: ANY_SCOPE,
  maxBodyBytes: MAX_MCP_REQUEST_BYTES,
  responses: {
    200: { description: 'The JSON-RPC answer(s).', schema: McpResponseBodySchema },
    202: { description: 'Notifications or responses only: accepted, no body.' },
    400: { description: 'Not JSON, or not a JSON-RPC message.', schema: JsonRpcErrorResponseSchema },
    406: { description: 'Accept must list application/json and text/event-stream.', schema: JsonRpcErrorResponseSchema },
    415: { description: 'Content-Type must be application/json.', schema: JsonRpcErrorResponseSchema },
  },
  openapi: {
    request: { body: { required: true, content: { 'application/json': { schema: McpRequestBodySchema } } } },
  },
  handler: async ({ auth, bodyStream, request, context, deps }) => {
    const body = await readBodyText(bodyStream);
    const { createTracepipeMcpServer } = await mcpServer();
    const server = createTracepipeMcpServer({
      db: deps.db,
      blobs: await deps.storage.blobs(),
      config: deps.config,
      exampleJobs: await deps.storage.queue(EXAMPLE_JOBS_QUEUE),
      datasetBuilds: await deps.storage.queue(DATASET_BUILDS_QUEUE),
      auth,
      apiBaseUrl: new URL(request.url).origin,
      requestId: context.invocationId,
      countAgainst: async (bucket) => {
        await authenticateRequest(deps, request, bucket);
      },
      costCheck: { db: deps.db, config: deps.config, stripe: await deps.stripe.client(), clock: deps.clock },
      clock: deps.clock,
      log: { warn: (...args) => context.warn(...args), error: (...args) => context.error(...args) },
    });
    return serveMcpPost(request, body, server, (error) => context.warn('MCP transport:', error.message));
  },
});

/**
 * A client may GET the endpoint for a stream of server-initiated messages; a server without one answers 405
 * (https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#listening-for-messages-from-the-server),
 * and the SDK's client then carries on with POSTs alone. A stateless server has no session to DELETE either.
 * Neither needs the caller's key: the answer is the same for everyone and costs nothing against its rate limit.
 */
for (const [method, operationId, summary] of [
  ['GET', 'getMcpEventStream', 'MCP event stream (not offered: 405)'],
  ['DELETE', 'deleteMcpSession', 'End an MCP session (none exist: 405)'],
] as const) {
  defineRoute({
    operationId,
    method,
    path: '/v1/mcp',
    tags: TAGS,
    summary,
    description:
      'Always 405 with `Allow: POST`: the MCP server is stateless, so it offers no server-to-client event stream ' +
      '(GET) and has no sessions to end (DELETE). MCP clients treat the 405 as "POST only" and carry on.',
    auth: 'public',
    responses: { 405: { description: 'Only POST is supported.', schema: JsonRpcErrorResponseSchema } },
    handler: async () => jsonResponse(405, METHOD_NOT_ALLOWED_BODY, { Allow: 'POST' }),
  });
}
