/** The contract's error codes, each with the one HTTP status it travels with. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  payment_required: 402,
  budget_exceeded: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  validation_error: 422,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorDetails = Record<string, unknown>;

/**
 * The one error type services throw. The HTTP wrapper renders it as
 * `{ "error": { "code", "message", "details"? } }` with its status (and headers such as Retry-After).
 */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }

  static badRequest(message: string, details?: ErrorDetails): ApiError {
    return new ApiError('bad_request', message, details);
  }

  static unauthorized(message = 'A valid API key is required (X-API-Key header).'): ApiError {
    return new ApiError('unauthorized', message);
  }

  /** Billing is on and the account may not incur cost now (no active subscription, or no payment method). */
  static paymentRequired(message: string, details?: ErrorDetails): ApiError {
    return new ApiError('payment_required', message, details);
  }

  /** The user's hard monthly budget is reached: new paid work is refused (reads still work). */
  static budgetExceeded(message: string, details: ErrorDetails): ApiError {
    return new ApiError('budget_exceeded', message, details);
  }

  static forbidden(message: string, details?: ErrorDetails): ApiError {
    return new ApiError('forbidden', message, details);
  }

  static notFound(message = 'Not found.'): ApiError {
    return new ApiError('not_found', message);
  }

  static conflict(message: string, details?: ErrorDetails): ApiError {
    return new ApiError('conflict', message, details);
  }

  static validation(message: string, details?: ErrorDetails): ApiError {
    return new ApiError('validation_error', message, details);
  }

  static unavailable(message = 'A dependency is unavailable; retry later.', details?: ErrorDetails): ApiError {
    return new ApiError('unavailable', message, details, { 'Retry-After': '5' });
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: ErrorDetails } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}
