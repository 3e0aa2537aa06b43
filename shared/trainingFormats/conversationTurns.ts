import type { CanonicalMessage } from '../examples/conversationCanonicalizer.js';

/*
 * Anthropic's Messages and Gemini's contents have one system text outside the conversation and strictly
 * alternating turns, where tool results travel on the user's side. This regroups canonical messages that way:
 * - every system message joins the one system text (in order, separated by a blank line);
 * - consecutive assistant messages make one assistant turn, their texts and calls in order;
 * - consecutive user and tool messages make one user turn, tool results first and then the texts (Anthropic
 *   requires tool_result blocks before any text: https://platform.claude.com/docs/en/agents-and-tools/tool-use/handle-tool-calls).
 */

export interface ToolCallPart {
  kind: 'call';
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export type AssistantPart = { kind: 'text'; text: string } | ToolCallPart;

export interface ToolResultPart {
  id: string;
  /** The name of the tool whose call this answers. */
  name: string;
  content: string;
}

export type Turn =
  | { side: 'user'; results: ToolResultPart[]; texts: string[] }
  | { side: 'assistant'; parts: AssistantPart[] };

export interface Turns {
  system: string | null;
  turns: Turn[];
}

export function toTurns(messages: CanonicalMessage[]): Turns {
  const systems: string[] = [];
  const turns: Turn[] = [];
  const calledNames = new Map<string, string>();
  const userTurn = () => {
    const last = turns.at(-1);
    if (last?.side === 'user') return last;
    const turn: Turn = { side: 'user', results: [], texts: [] };
    turns.push(turn);
    return turn;
  };
  const assistantTurn = () => {
    const last = turns.at(-1);
    if (last?.side === 'assistant') return last;
    const turn: Turn = { side: 'assistant', parts: [] };
    turns.push(turn);
    return turn;
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        systems.push(message.content);
        break;
      case 'user':
        userTurn().texts.push(message.content);
        break;
      case 'tool':
        userTurn().results.push({
          id: message.tool_call_id,
          name: calledNames.get(message.tool_call_id) ?? '',
          content: message.content,
        });
        break;
      case 'assistant': {
        const turn = assistantTurn();
        if (message.content !== null && message.content !== '') turn.parts.push({ kind: 'text', text: message.content });
        for (const call of message.tool_calls ?? []) {
          calledNames.set(call.id, call.function.name);
          turn.parts.push({
            kind: 'call',
            id: call.id,
            name: call.function.name,
            input: JSON.parse(call.function.arguments) as Record<string, unknown>,
          });
        }
        break;
      }
    }
  }
  return { system: systems.length > 0 ? systems.join('\n\n') : null, turns };
}
