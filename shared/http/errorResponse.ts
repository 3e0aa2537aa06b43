import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { ApiError } from '../errors/apiError.js';
import { isDependencyOutage } from '../errors/dependencyOutage.js';
import { jsonResponse } from './responses.js';

/**
 * Renders anything a handler threw in the contract's error shape. ApiErrors are the caller's (or a known state);
 * an outage of the database or storage is 503; anything else is a bug: logged in full, 500 without internals.
 */
export function errorToResponse(error: unknown, context: InvocationContext): HttpResponseInit {
  let apiError: ApiError;
  if (error instanceof ApiError) {
    apiError = error;
  } else if (isDependencyOutage(error)) {
    context.warn('Dependency unavailable:', error);
    apiError = ApiError.unavailable('A dependency (database or storage) is unavailable; retry later.');
  } else {
    context.error('Unhandled error:', error);
    apiError = new ApiError('internal_error', 'An internal error occurred. It has been logged.', {
      request_id: context.invocationId,
    });
  }
  return jsonResponse(apiError.status, apiError.toBody(), apiError.headers);
}
