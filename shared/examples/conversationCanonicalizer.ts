import { createHash, type Hash } from 'node:crypto';
import stableStringify from 'safe-stable-stringify';
import { describeJsonType } from '../jsonl/jsonlObjectReader.js';

/*
 * The one form an example's messages are stored in: OpenAI's chat format
 * (https://platform.openai.com/docs/api-reference/fine-tuning/chat-input), one message per line.
 *
 * The pipelines service may write tool calls in OpenAI's form, `{ id, type: "function", function: { name,
 * arguments: "<JSON string>" } }`, or in its own simplified form, `{ name, arguments: {...} }` (arguments as an
 * object, no id, no wrapper). Both are stored in OpenAI's form, with `call_<n>` ids where missing (n counts the
 * example's tool calls, from 1) and arguments as a JSON string. Refused, per line: unknown roles or fields, a tool
 * call naming no tool of the example's action-tool map, arguments that are not a JSON object, a tool message that
 * answers no earlier open call, and anything else no trainer could use.
 */

export interface CanonicalToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type CanonicalMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: CanonicalToolCall[]; weight?: 0 | 1 }
  | { role: 'tool'; tool_call_id: string; content: string };


/**
 * Tool call ids become Anthropic `tool_use` ids, which allow only these characters (`^[a-zA-Z0-9_-]+$`, the
 * Messages API's tool_use id; Amazon Bedrock's ToolUseBlock: 1-64 of `[a-zA-Z0-9_-]`,
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolUseBlock.html).
 */
export const TOOL_CALL_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Ids and open calls are remembered per example; this bounds that memory for any file. */
export const MAX_TOOL_CALLS_PER_EXAMPLE = 10_000;

const ALLOWED_FIELDS: Record<CanonicalMessage['role'], ReadonlySet<string>> = {
  system: new Set(['role', 'content']),
  user: new Set(['role', 'content']),
  assistant: new Set(['role', 'content', 'tool_calls', 'weight']),
  tool: new Set(['role', 'tool_call_id', 'content', 'name']),
};
const OPENAI_CALL_FIELDS = new Set(['id', 'type', 'function']);
const SIMPLIFIED_CALL_FIELDS = new Set(['id', 'name', 'arguments']);
const FUNCTION_FIELDS = new Set(['name', 'arguments']);

export type Accepted = { message: CanonicalMessage } | { problem: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownFields(value: Record<string, unknown>, allowed: ReadonlySet<string>): string[] {
  return Object.keys(value).filter((key) => !allowed.has(key));
}

function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 63)}…` : text);
}

/** The arguments as a JSON string of an object, or why they are not one. */
function argumentsText(args: unknown, where: string): { text: string } | { problem: string } {
  let parsed: unknown = args;
  if (typeof args === 'string') {
    try {
      parsed = JSON.parse(args);
    } catch {
      return { problem: `${where}.arguments is not valid JSON.` };
    }
  }
  if (!isObject(parsed)) {
    return { problem: `${where}.arguments must be a JSON object (or a string holding one), not ${describeJsonType(parsed)}.` };
  }
  return { text: typeof args === 'string' ? args : JSON.stringify(parsed) };
}

/**
 * Reads one example's messages in order, line by line: each accepted line comes back in canonical form, and the
 * conversation's digest (for deduplication, see `digest`) is updated as it goes. Memory: the call ids of this
 * example, at most MAX_TOOL_CALLS_PER_EXAMPLE.
 */
export class ConversationCanonicalizer {
  #callCount = 0;
  readonly #usedIds = new Set<string>();
  /** Calls not answered yet: id -> function name. */
  readonly #open = new Map<string, string>();
  /** Ids in order of appearance, for the normalized (id-independent) digest. */
  readonly #normalIds = new Map<string, string>();
  readonly #hash: Hash = createHash('sha256');

  /**
   * toolNames null: any tool name (reading a stored example back, whose map may have changed since). digest false:
   * no digest is kept (reading an example to convert it, where only the messages matter).
   */
  constructor(
    private readonly toolNames: ReadonlySet<string> | null,
    private readonly digesting = true,
  ) {}

  accept(value: Record<string, unknown>): Accepted {
    const result = this.#canonical(value);
    if (this.digesting && 'message' in result) this.#hash.update(`${stableStringify(this.#normalized(result.message))}\n`);
    return result;
  }

  /**
   * sha256 of the normalized conversation: tool call ids renumbered by order of appearance, argument keys sorted,
   * text trimmed with runs of whitespace as one space. Two examples with the same digest train the same thing.
   */
  digest(): string {
    return this.#hash.copy().digest('hex');
  }

  #canonical(value: Record<string, unknown>): Accepted {
    const { role } = value;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') {
      return {
        problem:
          typeof role === 'string'
            ? `Unknown role ${quote(role)}: expected system, user, assistant or tool.`
            : 'The message has no string `role`.',
      };
    }
    const extra = unknownFields(value, ALLOWED_FIELDS[role]);
    if (extra.length > 0) return { problem: `Unknown field(s) on a ${role} message: ${extra.slice(0, 5).join(', ')}.` };
    switch (role) {
      case 'system':
      case 'user':
        return typeof value.content === 'string'
          ? { message: { role, content: value.content } }
          : { problem: `A ${role} message needs string content, not ${describeJsonType(value.content)}.` };
      case 'assistant':
        return this.#assistant(value);
      case 'tool':
        return this.#tool(value);
    }
  }

  #assistant(value: Record<string, unknown>): Accepted {
    const { content, tool_calls: calls, weight } = value;
    if (content !== undefined && content !== null && typeof content !== 'string') {
      return { problem: `An assistant message's content must be text or null, not ${describeJsonType(content)}.` };
    }
    if (weight !== undefined && weight !== 0 && weight !== 1) return { problem: '`weight` must be 0 or 1.' };
    if (calls !== undefined && calls !== null && !Array.isArray(calls)) return { problem: '`tool_calls` must be an array.' };
    const toolCalls: CanonicalToolCall[] = [];
    // Ids of this message's calls count as taken for its later calls; they join the example's only if it is accepted.
    const idsHere = new Set<string>();
    const taken = (id: string) => this.#usedIds.has(id) || idsHere.has(id);
    for (const [index, call] of (calls ?? []).entries()) {
      const accepted = this.#toolCall(call, `tool_calls[${index}]`, taken);
      if ('problem' in accepted) return accepted;
      idsHere.add(accepted.call.id);
      toolCalls.push(accepted.call);
    }
    if (toolCalls.length === 0 && (typeof content !== 'string' || content === '')) {
      return { problem: 'An assistant message needs text content or a non-empty `tool_calls` array.' };
    }
    for (const call of toolCalls) {
      this.#usedIds.add(call.id);
      this.#open.set(call.id, call.function.name);
    }
    return {
      message: {
        role: 'assistant',
        content: typeof content === 'string' ? content : null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        ...(weight !== undefined ? { weight } : {}),
      },
    };
  }

  #toolCall(
    call: unknown,
    where: string,
    taken: (id: string) => boolean,
  ): { call: CanonicalToolCall } | { problem: string } {
    if (!isObject(call)) return { problem: `${where} is not an object.` };
    const openAiForm = 'function' in call;
    const extra = unknownFields(call, openAiForm ? OPENAI_CALL_FIELDS : SIMPLIFIED_CALL_FIELDS);
    if (extra.length > 0) return { problem: `${where} has unknown field(s): ${extra.slice(0, 5).join(', ')}.` };
    let name: unknown;
    let args: unknown;
    if (openAiForm) {
      if (call.type !== undefined && call.type !== 'function') return { problem: `${where}.type must be "function".` };
      const fn = call.function;
      if (!isObject(fn)) return { problem: `${where}.function must be an object.` };
      const extraFn = unknownFields(fn, FUNCTION_FIELDS);
      if (extraFn.length > 0) return { problem: `${where}.function has unknown field(s): ${extraFn.slice(0, 5).join(', ')}.` };
      ({ name, arguments: args } = fn);
    } else {
      ({ name, arguments: args } = call);
    }
    const at = openAiForm ? `${where}.function` : where;
    if (typeof name !== 'string' || name === '') return { problem: `${at}.name must be a non-empty string.` };
    if (this.toolNames && !this.toolNames.has(name)) {
      const known = [...this.toolNames].slice(0, 10).join(', ');
      return { problem: `${at}.name ${quote(name)} is no tool of the example's action-tool map (its tools: ${known}).` };
    }
    if (args === undefined) return { problem: `${at}.arguments is missing.` };
    const text = argumentsText(args, at);
    if ('problem' in text) return text;
    if (this.#callCount >= MAX_TOOL_CALLS_PER_EXAMPLE) {
      return { problem: `An example may hold at most ${MAX_TOOL_CALLS_PER_EXAMPLE} tool calls.` };
    }
    this.#callCount++;
    const id = call.id === undefined || call.id === null ? this.#freshId(taken) : call.id;
    if (typeof id !== 'string' || !TOOL_CALL_ID_PATTERN.test(id)) {
      return { problem: `${where}.id must be 1-64 characters of A-Z, a-z, 0-9, _ and -.` };
    }
    if (taken(id)) return { problem: `${where}.id ${quote(id)} is used by an earlier tool call.` };
    return { call: { id, type: 'function', function: { name, arguments: text.text } } };
  }

  #freshId(taken: (id: string) => boolean): string {
    let n = this.#callCount;
    while (taken(`call_${n}`)) n++;
    return `call_${n}`;
  }

  #tool(value: Record<string, unknown>): Accepted {
    const { tool_call_id: callId, content, name } = value;
    if (typeof callId !== 'string' || callId === '') return { problem: 'A tool message needs a string `tool_call_id`.' };
    const calledName = this.#open.get(callId);
    if (calledName === undefined) {
      return {
        problem: this.#usedIds.has(callId)
          ? `tool_call_id ${quote(callId)} was answered already.`
          : `The tool message answers no call: no earlier tool call has the id ${quote(callId)}.`,
      };
    }
    if (name !== undefined && name !== calledName) {
      return { problem: `The tool message's name ${quote(String(name))} is not the called tool's (${quote(calledName)}).` };
    }
    if (typeof content !== 'string') return { problem: `A tool message needs string content, not ${describeJsonType(content)}.` };
    this.#open.delete(callId);
    return { message: { role: 'tool', tool_call_id: callId, content } };
  }

  #normalIdOf(id: string): string {
    let normal = this.#normalIds.get(id);
    if (normal === undefined) {
      normal = `c${this.#normalIds.size + 1}`;
      this.#normalIds.set(id, normal);
    }
    return normal;
  }

  #normalized(message: CanonicalMessage): object {
    const text = (content: string | null) => (content === null ? null : content.trim().replace(/\s+/g, ' '));
    switch (message.role) {
      case 'system':
      case 'user':
        return { role: message.role, content: text(message.content) };
      case 'tool':
        return { role: 'tool', tool_call_id: this.#normalIdOf(message.tool_call_id), content: text(message.content) };
      case 'assistant':
        return {
          role: 'assistant',
          content: text(message.content),
          weight: message.weight ?? 1,
          tool_calls: (message.tool_calls ?? []).map((call) => ({
            id: this.#normalIdOf(call.id),
            name: call.function.name,
            arguments: JSON.parse(call.function.arguments) as unknown,
          })),
        };
    }
  }
}
