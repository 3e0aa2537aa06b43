import type { ToolWithParameters } from '../catalog/mcpToolsFormat.js';
import type { CanonicalMessage } from '../examples/conversationCanonicalizer.js';
import { openAiFunctionTool, type OpenAiFunctionTool } from './openAiRecord.js';

/*
 * Hugging Face TRL's conversational language-modeling row with tool calling
 * (https://huggingface.co/docs/trl/dataset_formats#tool-calling): `{ "messages": [...], "tools": [...] }`, where an
 * assistant's `tool_calls` are `{ "type": "function", "function": { name, arguments: {...} } }` with the arguments
 * as an object (chat templates read them as a dict), a tool result is `{ "role": "tool", "name", "content" }`, and
 * `tools` holds each tool as a JSON schema in the shape transformers' get_json_schema produces (OpenAI's function
 * tool). System messages stay where they are (the chat template places them). TRL has no per-message weight: an
 * assistant message with weight 0 is kept and trained on like the others (the lint report warns).
 */

export type TrlMessage =
  | { role: 'system' | 'user'; content: string }
  | {
      role: 'assistant';
      content?: string;
      tool_calls?: Array<{ type: 'function'; function: { name: string; arguments: Record<string, unknown> } }>;
    }
  | { role: 'tool'; name: string; content: string };

export interface TrlRecord {
  messages: TrlMessage[];
  tools: OpenAiFunctionTool[];
}

export function toTrlRecord(messages: CanonicalMessage[], tools: ToolWithParameters[]): TrlRecord {
  const calledNames = new Map<string, string>();
  const converted = messages.map((message): TrlMessage => {
    switch (message.role) {
      case 'system':
      case 'user':
        return { role: message.role, content: message.content };
      case 'assistant': {
        const calls = message.tool_calls ?? [];
        for (const call of calls) calledNames.set(call.id, call.function.name);
        return {
          role: 'assistant',
          ...(message.content !== null ? { content: message.content } : {}),
          ...(calls.length > 0
            ? {
                tool_calls: calls.map((call) => ({
                  type: 'function' as const,
                  function: {
                    name: call.function.name,
                    arguments: JSON.parse(call.function.arguments) as Record<string, unknown>,
                  },
                })),
              }
            : {}),
        };
      }
      case 'tool':
        return { role: 'tool', name: calledNames.get(message.tool_call_id) ?? '', content: message.content };
    }
  });
  return { messages: converted, tools: tools.map(openAiFunctionTool) };
}
