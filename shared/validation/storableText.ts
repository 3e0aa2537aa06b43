import { ApiError } from '../errors/apiError.js';
import { fieldName, jsonNodes } from './jsonTraversal.js';

// Without the `u` flag a pattern sees UTF-16 code units: a high surrogate not followed by a low one, or a low one
// not preceded by a high one (String.prototype.isWellFormed, which needs the ES2024 library).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Text the API stores must be storable: PostgreSQL refuses the NUL character in `text` and `jsonb`, and a lone
 * UTF-16 surrogate has no UTF-8 form (`jsonb` refuses its `\ud800` escape; `text` would silently get U+FFFD).
 * https://www.postgresql.org/docs/current/datatype-json.html ("\u0000 is disallowed"). Decided here, once, for every
 * string the API reads (REST input through validateInput, MCP tool arguments, A2P JSON-RPC requests, Stripe events).
 */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode text (it has a lone UTF-16 surrogate)';
  return null;
}

/** The text with what cannot be stored (NUL, lone surrogates) replaced by U+FFFD, for messages that quote input. */
export function storableTextOf(text: string): string {
  return textProblem(text) === null ? text : text.replace(/\u0000/g, '\ufffd').replace(new RegExp(LONE_SURROGATE, 'g'), '\ufffd');
}

export interface TextFieldProblem {
  field: string;
  message: string;
}

const MAX_REPORTED_FIELDS = 20;

/** The strings (values and object keys) of a parsed value that could not be stored, the first 20. */
export function unstorableTextFields(value: unknown): TextFieldProblem[] {
  const problems: TextFieldProblem[] = [];
  for (const node of jsonNodes(value)) {
    const key = node.path.at(-1);
    const keyProblem = typeof key === 'string' ? textProblem(key) : null;
    if (keyProblem) problems.push({ field: fieldName(node.path), message: `The key ${keyProblem}.` });
    const valueProblem = typeof node.value === 'string' ? textProblem(node.value) : null;
    if (valueProblem) problems.push({ field: fieldName(node.path), message: `The value ${valueProblem}.` });
    if (problems.length >= MAX_REPORTED_FIELDS) break;
  }
  return problems.slice(0, MAX_REPORTED_FIELDS);
}

/** 422 naming every field whose text could not be stored (`details.fields`, as other validation errors). */
export function assertStorableText(value: unknown, location: 'body' | 'query' | 'path'): void {
  const problems = unstorableTextFields(value);
  if (problems.length === 0) return;
  throw ApiError.validation('Some text cannot be stored: it has a NUL character or is not well-formed Unicode.', {
    fields: problems.map((problem) => ({ location, ...problem })),
  });
}
