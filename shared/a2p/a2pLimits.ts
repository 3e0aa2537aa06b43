import { MAX_INLINE_MESSAGES_BYTES } from '../mcp/inlineMessages.js';

/**
 * A2P's limits, named in the agent card, the OpenAPI document and the README.
 * - inlineTraceBytes: a trace sent inline travels base64 inside a JSON-RPC body, which is parsed whole; larger
 *   traces go through the session upload URL (streamed, up to 5 GiB) and are then referred to by URL.
 * - requestBytes: the body limit, the inline trace in base64 (4/3) plus room for the rest of the message.
 * - inlineArtifactBytes: messages.jsonl up to this size comes back inside the task (as the MCP tools carry it);
 *   larger files come as a short-lived download link, signed afresh each time the task is read.
 * - jsonDepth: objects and arrays nested in a request, envelope included: room for a data part's free-form
 *   model_configuration (32 levels of its own, shared/http/freeFormObject.ts) a few levels down; deeper is refused
 *   before anything walks it recursively (a task's history is stored as JSON).
 */
export const A2P_LIMITS = {
  inlineTraceBytes: 8 * 1024 * 1024,
  requestBytes: 12 * 1024 * 1024,
  inlineArtifactBytes: MAX_INLINE_MESSAGES_BYTES,
  jsonDepth: 48,
} as const;
