import type { z } from 'zod';
import { ApiError } from '../errors/apiError.js';
import { assertStorableText } from './storableText.js';

export type InputLocation = 'body' | 'query' | 'path';

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Validates input with its zod schema. A required field that is absent is a 400 (the contract's "missing
 * field"); a present but invalid value is a 422. Either way `details.fields` names every offending field.
 */
export function validateInput<S extends z.ZodType>(schema: S, input: unknown, location: InputLocation): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) {
    // What was read, after its schema: the fields the API goes on to use (unknown keys are stripped).
    assertStorableText(result.data, location);
    return result.data;
  }
  const fields = result.error.issues.map((issue) => ({
    location,
    field: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  // zod reports an absent enum field as invalid_value, an absent field of any other type as invalid_type.
  const missing = result.error.issues.some(
    (issue) =>
      (issue.code === 'invalid_type' || issue.code === 'invalid_value') &&
      issue.path.length > 0 &&
      valueAt(input, issue.path) === undefined,
  );
  const rootNotObject = location === 'body' && (typeof input !== 'object' || input === null || Array.isArray(input));
  if (missing || rootNotObject) {
    const message = rootNotObject ? 'The request body must be a JSON object.' : 'A required field is missing.';
    throw ApiError.badRequest(message, { fields });
  }
  throw ApiError.validation('Some fields are invalid.', { fields });
}
