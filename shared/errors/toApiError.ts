import { ApiError } from './apiError.js';
import { isDependencyOutage } from './dependencyOutage.js';

export interface ErrorLogger {
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * The ApiError a failure stands for, wherever it is answered (REST responses, MCP tool errors): the caller's or a
 * known state as thrown; an outage of the database or storage is `unavailable` (503); anything else is a bug,
 * logged in full and shown as `internal_error` with the request id only.
 */
export function toApiError(error: unknown, log: ErrorLogger, requestId: string): ApiError {
  if (error instanceof ApiError) return error;
  if (isDependencyOutage(error)) {
    log.warn('Dependency unavailable:', error);
    return ApiError.unavailable('A dependency (database or storage) is unavailable; retry later.');
  }
  log.error('Unhandled error:', error);
  return new ApiError('internal_error', 'An internal error occurred. It has been logged.', { request_id: requestId });
}
