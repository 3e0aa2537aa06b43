import { describeJsonType, JsonlObjectReader, LineErrors, type LineError } from '../jsonl/jsonlObjectReader.js';

/**
 * What a line of `messages.jsonl` must be (CONTRACT.md, pipelines hand-off): a `system` or `user` message with
 * string content, or an `assistant` message with `content: null` and `tool_calls`
 * `[{ id, type: "function", function: { name, arguments: "<JSON string>" } }]`.
 */
export const MAX_REPORTED_MESSAGE_ERRORS = 20;

export type MessageLineError = LineError;

export interface MessagesCheck {
  valid: boolean;
  messageCount: number;
  sizeBytes: number;
  /** The first MAX_REPORTED_MESSAGE_ERRORS, in line order; line 0 is the file as a whole. */
  errors: MessageLineError[];
  errorCount: number;
}

function toolCallProblem(call: unknown, index: number): string | null {
  const where = `tool_calls[${index}]`;
  if (typeof call !== 'object' || call === null || Array.isArray(call)) return `${where} is not an object.`;
  const { id, type, function: fn } = call as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') return `${where}.id must be a non-empty string.`;
  if (type !== 'function') return `${where}.type must be "function".`;
  if (typeof fn !== 'object' || fn === null || Array.isArray(fn)) return `${where}.function must be an object.`;
  const { name, arguments: args } = fn as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return `${where}.function.name must be a non-empty string.`;
  if (typeof args !== 'string') return `${where}.function.arguments must be a string holding JSON.`;
  try {
    JSON.parse(args);
  } catch {
    return `${where}.function.arguments is not valid JSON.`;
  }
  return null;
}

/** Why a parsed line is not a training message, or null when it is one. */
export function trainingMessageProblem(value: Record<string, unknown>): string | null {
  const { role, content } = value;
  if (role === 'system' || role === 'user') {
    return typeof content === 'string' ? null : `A ${role} message needs string content, not ${describeJsonType(content)}.`;
  }
  if (role === 'assistant') {
    if (content !== null) return 'An assistant message must have `content: null` (it answers with tool_calls).';
    const calls = value.tool_calls;
    if (!Array.isArray(calls) || calls.length === 0) return 'An assistant message needs a non-empty `tool_calls` array.';
    for (const [index, call] of calls.entries()) {
      const problem = toolCallProblem(call, index);
      if (problem) return problem;
    }
    return null;
  }
  return typeof role === 'string'
    ? `Unknown role "${role.slice(0, 50)}": expected system, user or assistant.`
    : 'The message has no string `role`.';
}

/** Checks a whole `messages.jsonl` as it streams by, in memory bounded by one line. */
export async function checkTrainingMessages(stream: AsyncIterable<Uint8Array | string>): Promise<MessagesCheck> {
  const errors = new LineErrors(MAX_REPORTED_MESSAGE_ERRORS);
  const error = (line: number, message: string) => errors.add(line, message);
  let messageCount = 0;
  const reader = new JsonlObjectReader({
    object(line, value) {
      const problem = trainingMessageProblem(value);
      if (problem) error(line, problem);
      else messageCount++;
    },
    error,
  });
  for await (const chunk of stream) reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  reader.finish();
  if (reader.sizeBytes === 0) error(0, 'The file is empty: an example needs at least one message.');
  return { valid: errors.count === 0, messageCount, sizeBytes: reader.sizeBytes, errors: errors.kept, errorCount: errors.count };
}
