import { toolInputSchema, type ToolWithParameters } from '../catalog/mcpToolsFormat.js';
import type { CanonicalMessage } from '../examples/conversationCanonicalizer.js';
import { toTurns } from './conversationTurns.js';

/*
 * Anthropic's format: the Messages API's `system` and `messages`, as Anthropic's fine-tuning on Amazon Bedrock
 * takes them (https://platform.claude.com/cookbook/finetuning-finetuning-on-bedrock: `system` optional, the first
 * message from the user, the last from the assistant, roles alternating), with tool use as content blocks
 * (https://platform.claude.com/docs/en/agents-and-tools/tool-use/handle-tool-calls): an assistant's calls are
 * `{ "type": "tool_use", id, name, input }` blocks, their results `{ "type": "tool_result", tool_use_id, content }`
 * blocks in the next user message, before any text. `tools` are `{ name, description, input_schema }`.
 * - system messages become the one `system` text (joined with a blank line), wherever they were;
 * - a turn that is a single text is a string, any other a list of blocks;
 * - there is no per-message weight: an assistant message with weight 0 is trained on like the others.
 */

export type AnthropicBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string };

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | AnthropicBlock[];
}

export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: ReturnType<typeof toolInputSchema>;
}

export interface AnthropicRecord {
  system?: string;
  messages: AnthropicMessage[];
  tools: AnthropicTool[];
}

function content(blocks: AnthropicBlock[]): string | AnthropicBlock[] {
  const only = blocks[0];
  return blocks.length === 1 && only?.type === 'text' ? only.text : blocks;
}

export function toAnthropicRecord(messages: CanonicalMessage[], tools: ToolWithParameters[]): AnthropicRecord {
  const { system, turns } = toTurns(messages);
  const converted = turns.map((turn): AnthropicMessage => {
    if (turn.side === 'user') {
      return {
        role: 'user',
        content: content([
          ...turn.results.map((result) => ({ type: 'tool_result' as const, tool_use_id: result.id, content: result.content })),
          ...turn.texts.map((text) => ({ type: 'text' as const, text })),
        ]),
      };
    }
    return {
      role: 'assistant',
      content: content(
        turn.parts.map((part): AnthropicBlock =>
          part.kind === 'text'
            ? { type: 'text', text: part.text }
            : { type: 'tool_use', id: part.id, name: part.name, input: part.input },
        ),
      ),
    };
  });
  return {
    ...(system !== null ? { system } : {}),
    messages: converted,
    tools: tools.map((tool) => ({
      name: tool.name,
      ...(tool.description !== null ? { description: tool.description } : {}),
      input_schema: toolInputSchema(tool),
    })),
  };
}
