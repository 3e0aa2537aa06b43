import type { Message, Part } from '@a2a-js/sdk';
import { ModelConfiguration } from '../examples/exampleSchemas.js';
import { z } from '../openapi/zod.js';
import { Description } from '../sessions/sessionSchemas.js';
import { A2P_LIMITS } from './a2pLimits.js';

/** The data part of a process-trace request; suite_id and model_id are required (missing: INPUT_REQUIRED). */
export const TraceRequestFieldsSchema = z.object({
  suite_id: z.uuid(),
  model_id: z.uuid(),
  model_configuration: ModelConfiguration.default({}),
  action_tool_map_id: z.uuid().optional(),
  description: Description.optional(),
});
export type TraceRequestFields = z.infer<typeof TraceRequestFieldsSchema>;
const REQUIRED_FIELDS = ['suite_id', 'model_id'] as const;
const KNOWN_FIELDS = new Set([...Object.keys(TraceRequestFieldsSchema.shape), 'skill']);

export type TraceFile =
  | { kind: 'inline'; bytes: Buffer; filename: string; mediaType: string }
  | { kind: 'url'; url: string };

export type TraceRequest =
  | { kind: 'ok'; fields: TraceRequestFields; file: TraceFile }
  /** Something is missing; `received` is what was given (kept on the task for the follow-up to complete). */
  | { kind: 'input_required'; missing: string[]; received: Record<string, unknown> }
  | { kind: 'rejected'; reason: string };

export function dataOf(message: Message): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const part of message.parts) {
    const value = part.content?.$case === 'data' ? (part.content.value as unknown) : undefined;
    if (isObject(value)) Object.assign(data, value);
  }
  return data;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function fileParts(message: Message): Part[] {
  return message.parts.filter((part) => part.content?.$case === 'raw' || part.content?.$case === 'url');
}

/**
 * Reads a process-trace request off the message, completing it with the fields an earlier turn of the same task
 * gave (`earlier`, when the task asked for input). Values that are there but wrong reject the request; missing
 * ones ask for input. The file is never carried over: it is not kept while a task waits (see the skill's text).
 */
export function readTraceRequest(message: Message, earlier: Record<string, unknown> = {}): TraceRequest {
  const given = dataOf(message);
  const nonObjectData = message.parts.some((part) => part.content?.$case === 'data' && !isObject(part.content.value));
  if (nonObjectData) {
    return { kind: 'rejected', reason: 'The data part must be a JSON object: { suite_id, model_id, ... }.' };
  }
  const unknown = Object.keys(given).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) {
    return {
      kind: 'rejected',
      reason: `Unknown field(s) in the data part: ${unknown.join(', ')}. Known: ${[...KNOWN_FIELDS].join(', ')}.`,
    };
  }
  const { skill: _skill, ...fields } = { ...earlier, ...given };

  const files = fileParts(message);
  if (files.length > 1) {
    return { kind: 'rejected', reason: `Send one trace file per task; this message has ${files.length}.` };
  }
  const file = files[0] ? fileOf(files[0]) : null;
  if (file && 'reason' in file) return { kind: 'rejected', reason: file.reason };

  const parsed = TraceRequestFieldsSchema.safeParse(fields);
  const invalid = parsed.success
    ? []
    : parsed.error.issues.filter((issue) => !(issue.path.length === 1 && fields[String(issue.path[0])] === undefined));
  if (invalid.length > 0) {
    const problems = invalid.map((issue) => `${issue.path.map(String).join('.') || 'data'}: ${issue.message}`);
    return { kind: 'rejected', reason: `Invalid request: ${problems.join('; ')}.` };
  }
  const missing: string[] = REQUIRED_FIELDS.filter((field) => fields[field] === undefined);
  if (!file) missing.push('file');
  if (missing.length > 0 || !parsed.success || !file) return { kind: 'input_required', missing, received: fields };
  return { kind: 'ok', fields: parsed.data, file };
}

function fileOf(part: Part): TraceFile | { reason: string } {
  const content = part.content;
  if (content?.$case === 'url') return { kind: 'url', url: content.value };
  if (content?.$case !== 'raw') return { reason: 'The file part has no content.' };
  const bytes = content.value;
  if (bytes.length === 0) return { reason: 'The trace file is empty.' };
  if (bytes.length > A2P_LIMITS.inlineTraceBytes) {
    return {
      reason:
        `The trace is ${bytes.length} bytes; inline traces are limited to ${A2P_LIMITS.inlineTraceBytes}. Upload it ` +
        "through POST /v1/sessions (up to 5 GiB) and send the session trace's URL instead.",
    };
  }
  return { kind: 'inline', bytes: Buffer.from(bytes), filename: part.filename, mediaType: part.mediaType };
}
