import { z } from '../openapi/zod.js';

/**
 * The JSON-RPC 2.0 envelope of MCP messages, for the OpenAPI document of POST /v1/mcp only: the SDK's transport
 * parses and validates the messages themselves (https://www.jsonrpc.org/specification).
 */
const JsonRpcId = z.union([z.string(), z.number().int()]);

const JsonRpcMessage = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId.optional().openapi({ description: 'Present on requests; absent on notifications.' }),
    method: z.string().openapi({ example: 'tools/call' }),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('JsonRpcMessage', {
    description:
      'An MCP request or notification: `initialize`, `notifications/initialized`, `tools/list`, `tools/call`, ' +
      '`resources/templates/list`, `resources/list`, `resources/read`, `ping`.',
    example: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_suites', arguments: {} } },
  });

export const McpRequestBodySchema = z
  .union([JsonRpcMessage, z.array(JsonRpcMessage).min(1)])
  .openapi('McpRequestBody', { description: 'One JSON-RPC message, or a batch of them.' });

const JsonRpcErrorObject = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});

const JsonRpcResponse = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId,
    result: z.record(z.string(), z.unknown()).optional(),
    error: JsonRpcErrorObject.optional(),
  })
  .openapi('JsonRpcResponse', {
    description:
      'The answer to one request: `result` (for tools/call a CallToolResult with `content` and ' +
      '`structuredContent`; `isError: true` with `structuredContent.error` in the API\'s error shape when the ' +
      'operation failed), or a JSON-RPC `error` for a protocol failure (unknown method or tool, invalid params).',
  });

export const McpResponseBodySchema = z
  .union([JsonRpcResponse, z.array(JsonRpcResponse)])
  .openapi('McpResponseBody', { description: 'The answer, or the answers to a batch.' });

export const JsonRpcErrorResponseSchema = z
  .object({ jsonrpc: z.literal('2.0'), id: JsonRpcId.nullable(), error: JsonRpcErrorObject })
  .openapi('JsonRpcErrorResponse', {
    description: 'A transport-level refusal, in JSON-RPC form (the MCP SDK\'s answer).',
  });
