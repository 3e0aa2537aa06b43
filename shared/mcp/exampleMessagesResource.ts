import { McpError, ErrorCode as JsonRpcErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { assertScope, DEFAULT_SCOPE } from '../auth/scopes.js';
import type { ApiError } from '../errors/apiError.js';
import { ExampleParams } from '../examples/exampleSchemas.js';
import { getCompletedExample, listExamples } from '../examples/exampleService.js';
import { MAX_PER_PAGE } from '../validation/pagination.js';
import { validateInput } from '../validation/validateInput.js';
import { exampleMessagesUri, messagesDownload } from './exampleTools.js';
import { MAX_INLINE_MESSAGES_BYTES, readMessagesInline } from './inlineMessages.js';
import type { McpRequestContext } from './mcpContext.js';
import { toApiError } from './toolResults.js';

const MESSAGES_MIME_TYPE = 'application/jsonl';

/**
 * "Resource not found" has its own JSON-RPC code in MCP
 * (https://modelcontextprotocol.io/specification/2025-06-18/server/resources#error-handling).
 */
const RESOURCE_NOT_FOUND = -32002;

/**
 * Resource reads have no result-level error like tools: a failure is a JSON-RPC error. It carries the contract's
 * error in `data`, so a client still sees `code` (not_found, conflict...) and `details`.
 */
function toMcpError(error: ApiError): McpError {
  const jsonRpcCode =
    error.code === 'not_found'
      ? RESOURCE_NOT_FOUND
      : error.status < 500
        ? JsonRpcErrorCode.InvalidParams
        : JsonRpcErrorCode.InternalError;
  return new McpError(jsonRpcCode, error.message, error.toBody().error);
}

/**
 * `tracepipe://examples/{id}/messages`: the messages of a completed example of the caller's, as JSONL, up to the
 * same inline limit as get_example_messages. Listed: the newest completed examples (one page of 100).
 */
export function registerExampleMessagesResource(server: McpServer, context: McpRequestContext): void {
  const { db, blobs, auth } = context;
  const fail = (error: unknown): never => {
    throw toMcpError(toApiError(error, context.log, context.requestId));
  };

  const template = new ResourceTemplate('tracepipe://examples/{id}/messages', {
    list: async () => {
      // Examples are the `api` scope's, as their tools are.
      const page = await Promise.resolve()
        .then(() => assertScope(auth.scopes, DEFAULT_SCOPE))
        .then(() => listExamples(db, auth, { status: 'COMPLETED', include_deleted: false, page: 1, per_page: MAX_PER_PAGE }))
        .catch(fail);
      return {
        resources: page.items.map((example) => ({
          uri: exampleMessagesUri(example.id),
          name: `example-${example.id}-messages`,
          title: `Training messages of example ${example.id}`,
          mimeType: MESSAGES_MIME_TYPE,
        })),
      };
    },
  });

  server.registerResource(
    'example_messages',
    template,
    {
      title: 'Training messages of a completed example',
      description:
        'The chat messages of a COMPLETED example of yours, one JSON object per line (JSONL), up to ' +
        `${MAX_INLINE_MESSAGES_BYTES} bytes; larger files are downloaded with GET /v1/examples/{id}/messages.`,
      mimeType: MESSAGES_MIME_TYPE,
    },
    async (uri, variables) => {
      try {
        assertScope(auth.scopes, DEFAULT_SCOPE);
        const { id } = validateInput(ExampleParams, { id: variables.id }, 'path');
        const example = await getCompletedExample(db, auth, id);
        const messages = await readMessagesInline(blobs, example.id);
        if (!messages.inline) {
          const download = messagesDownload(context, example.id);
          throw new McpError(
            JsonRpcErrorCode.InvalidParams,
            `The messages are ${messages.sizeBytes} bytes, over the ${MAX_INLINE_MESSAGES_BYTES}-byte limit of ` +
              `this resource; download them with GET ${download.url}.`,
            { size_bytes: messages.sizeBytes, limit_bytes: MAX_INLINE_MESSAGES_BYTES, download },
          );
        }
        return { contents: [{ uri: uri.href, mimeType: MESSAGES_MIME_TYPE, text: messages.text }] };
      } catch (error) {
        if (error instanceof McpError) throw error;
        return fail(error);
      }
    },
  );
}
