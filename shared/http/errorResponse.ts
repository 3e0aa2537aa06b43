import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { toApiError } from '../errors/toApiError.js';
import { jsonResponse } from './responses.js';

/** Renders anything a handler threw in the contract's error shape, with its status and headers. */
export function errorToResponse(error: unknown, context: InvocationContext): HttpResponseInit {
  const apiError = toApiError(error, context, context.invocationId);
  return jsonResponse(apiError.status, apiError.toBody(), apiError.headers);
}
