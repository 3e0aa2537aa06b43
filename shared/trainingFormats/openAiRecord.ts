import { toolInputSchema, type ToolWithParameters } from '../catalog/mcpToolsFormat.js';
import type { CanonicalMessage } from '../examples/conversationCanonicalizer.js';

/*
 * OpenAI's supervised fine-tuning line (https://platform.openai.com/docs/api-reference/fine-tuning/chat-input):
 * `{ "messages": [...], "tools": [{ "type": "function", "function": { name, description, parameters } }] }`, the
 * chat messages as the Chat Completions API takes them. Stored examples are already in this form, so the messages
 * pass through as they are:
 * - system messages stay where they are;
 * - `weight` (0 or 1) stays on assistant messages: 0 keeps the message as context without training on it
 *   (https://platform.openai.com/docs/guides/supervised-fine-tuning, "multi-turn chat examples");
 * - tool results are `tool` messages with `tool_call_id` and string content.
 */

export interface OpenAiFunctionTool {
  type: 'function';
  function: { name: string; description?: string; parameters: ReturnType<typeof toolInputSchema> };
}

export interface OpenAiRecord {
  messages: CanonicalMessage[];
  tools: OpenAiFunctionTool[];
}

/** A tool as a Chat Completions function tool (also the shape TRL's `tools` column takes). */
export function openAiFunctionTool(tool: ToolWithParameters): OpenAiFunctionTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== null ? { description: tool.description } : {}),
      parameters: toolInputSchema(tool),
    },
  };
}

export function toOpenAiRecord(messages: CanonicalMessage[], tools: ToolWithParameters[]): OpenAiRecord {
  return { messages, tools: tools.map(openAiFunctionTool) };
}
