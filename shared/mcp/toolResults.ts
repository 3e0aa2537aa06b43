import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { ApiError } from '../errors/apiError.js';

/**
 * What a tool answers, and how a failure becomes a tool error. MCP separates protocol errors (JSON-RPC `error`:
 * unknown tool, malformed request) from tool execution errors (`isError: true` in the result), which the model
 * sees and can act on (https://modelcontextprotocol.io/specification/2025-06-18/server/tools#error-handling).
 * Everything a REST call would answer with a contract error comes back the second way, with the same `code`.
 */

/** Reads change nothing and may be repeated freely. */
export const READ_ONLY: ToolAnnotations = { readOnlyHint: true, idempotentHint: true, openWorldHint: false };

/**
 * Creating adds a new resource each call (a retry without an idempotency key creates another) and never changes or
 * removes an existing one. openWorldHint false: the tools act on Tracepipe's own data only.
 */
export const CREATES: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
};

/**
 * A successful result: `structuredContent`, and the same JSON as text for clients that only read text (the
 * specification asks for both: https://modelcontextprotocol.io/specification/2025-06-18/server/tools#structured-content),
 * then any notes for the model (next steps).
 */
export function toolResult(structured: object, ...notes: string[]): CallToolResult {
  return {
    content: [
      { type: 'text', text: JSON.stringify(structured) },
      ...notes.map((text) => ({ type: 'text' as const, text })),
    ],
    structuredContent: structured as Record<string, unknown>,
  };
}

/** The contract's error body as a tool error: the message as text, `{ error: { code, message, details } }` as structure. */
export function toolError(error: ApiError): CallToolResult {
  const body = error.toBody();
  return {
    isError: true,
    content: [{ type: 'text', text: `${error.code}: ${error.message}` }],
    structuredContent: body,
  };
}

export { toApiError, type ErrorLogger as ToolLogger } from '../errors/toApiError.js';
