import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { lazily } from '../runtime/lazily.js';

// The MCP SDK loads with the first MCP request, not with every function (shared/runtime/lazily.ts).
const streamableHttp = lazily(() => import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'));

/**
 * The largest JSON-RPC body read (the route answers 413 over it, as it streams; the SDK gets the text). Tool
 * arguments are small: the largest is create_example's model_configuration, at most 16 KiB. The SDK's default is 4 MiB.
 */
export const MAX_MCP_REQUEST_BYTES = 256 * 1024;

/** The JSON-RPC error the SDK itself answers unsupported methods with, for GET and DELETE (see functions/mcp.ts). */
export const METHOD_NOT_ALLOWED_BODY = {
  jsonrpc: '2.0',
  error: { code: -32000, message: 'Method not allowed: this MCP server is stateless and offers no event stream; POST JSON-RPC messages.' },
  id: null,
} as const;

/** The Functions request as a fetch Request, with the body the route has read (within its limit). */
function toFetchRequest(request: HttpRequest, body: string): Request {
  const headers = new Headers(request.headers);
  headers.delete('content-length'); // the text's own length is set from it
  return new Request(request.url, { method: request.method, headers, body });
}

/**
 * Answers one POST with a fresh transport for the given server. Stateless (`sessionIdGenerator: undefined`, no
 * Mcp-Session-Id) and with `enableJsonResponse`, the transport's Response is plain JSON (200), or 202 for
 * notifications, resolved once every request in the body has its answer: nothing streams and nothing is left
 * open, so the server is closed when it is returned. (SDK: server/webStandardStreamableHttp.js, handleRequest and
 * handlePostRequest; a stateless transport refuses a second request, hence one per request.)
 */
export async function serveMcpPost(
  request: HttpRequest,
  body: string,
  server: McpServer,
  onError: (error: Error) => void,
): Promise<HttpResponseInit> {
  const { WebStandardStreamableHTTPServerTransport } = await streamableHttp();
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
    maxRequestBodySize: MAX_MCP_REQUEST_BYTES,
  });
  server.server.onerror = onError;
  try {
    await server.connect(transport);
    const response = await transport.handleRequest(toFetchRequest(request, body));
    return {
      status: response.status,
      headers: response.headers,
      body: response.body ? await response.text() : undefined,
    };
  } finally {
    await server.close();
  }
}
