import { z } from '../openapi/zod.js';
import { jsonNodes } from './jsonTraversal.js';

/**
 * Free-form JSON objects (model settings, agents' data parts) are bounded in depth and size, and measured without
 * recursion: a deeply nested value would overflow the stack of JSON.stringify (5,000 levels do) wherever it is
 * written later (the job message, a jsonb column).
 */
export interface FreeFormLimits {
  /** Objects and arrays nested within each other, the object itself included. */
  maxDepth: number;
  /** Bytes of its compact JSON (UTF-8). */
  maxBytes: number;
}

export const FREE_FORM_LIMITS: FreeFormLimits = { maxDepth: 32, maxBytes: 64 * 1024 };

/** Why the value is out of bounds, or null. Stops at the first value past either limit. */
export function freeFormProblem(value: unknown, limits: FreeFormLimits): string | null {
  let bytes = 0;
  for (const node of jsonNodes(value)) {
    const key = node.path.at(-1);
    // A member costs its quoted key and a colon; every element but the first of its container, a comma.
    if (typeof key === 'string') bytes += jsonStringBytes(key) + 1;
    if (node.position > 0) bytes += 1;
    const { value: item } = node;
    if (typeof item === 'object' && item !== null) {
      if (node.depth + 1 > limits.maxDepth) return `must nest at most ${limits.maxDepth} objects or arrays deep`;
      bytes += 2;
    } else {
      bytes += scalarBytes(item);
    }
    if (bytes > limits.maxBytes) return `must be at most ${limits.maxBytes} bytes of JSON`;
  }
  return null;
}

function jsonStringBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8');
}

function scalarBytes(value: unknown): number {
  if (typeof value === 'string') return jsonStringBytes(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value).length : 4; // NaN, Infinity: null
  if (typeof value === 'boolean') return value ? 4 : 5;
  return 4; // null
}

/** A free-form JSON object within the limits (422 naming the field otherwise). */
export function freeFormObject(limits: FreeFormLimits = FREE_FORM_LIMITS) {
  return z.record(z.string(), z.unknown()).superRefine((value, context) => {
    const problem = freeFormProblem(value, limits);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });
}
