import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { ApiError } from '../errors/apiError.js';
import { jsonResponse } from './responses.js';

/*
 * CORS for the browsers of the origins in CORS_ALLOWED_ORIGINS (the storefront), answered by the app rather than
 * by the platform's CORS: that one cannot name exposed headers (Azure/azure-functions-core-tools#3740), and once any
 * origin is configured there it answers preflights itself and replaces the app's CORS headers
 * (Azure/azure-functions-host#1303: "to handle OPTIONS requests in your functions, disable the CORS feature").
 * infra/ leaves platform CORS empty. Preflights reach the catch-all route (functions/notFound.ts): no route but it
 * takes OPTIONS. Credentials (cookies) are not allowed: the API authenticates by header.
 * https://fetch.spec.whatwg.org/#http-cors-protocol
 */

export const CORS_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** What a browser may send: the API's own headers and the usual content headers. */
export const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'X-API-Key', 'Idempotency-Key', 'X-Request-Id', 'Mcp-Session-Id', 'Mcp-Protocol-Version'];
/** What a script may read besides the CORS-safelisted response headers. */
export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Idempotent-Replayed',
  'Content-Disposition',
  'Location',
  'Mcp-Session-Id',
];
/** Browsers cap it anyway (Chromium at 2 hours); 10 minutes lets a changed setting take effect soon. */
export const CORS_MAX_AGE_SECONDS = 600;

export interface CorsConfig {
  /** Exact origins (`https://shop.example.com`); empty: no cross-origin access. */
  allowedOrigins: string[];
}

function allowedOrigin(request: HttpRequest, cors: CorsConfig): string | undefined {
  const origin = request.headers.get('origin');
  return origin && cors.allowedOrigins.includes(origin) ? origin : undefined;
}

export function isPreflight(request: HttpRequest): boolean {
  return request.method === 'OPTIONS' && request.headers.has('origin') && request.headers.has('access-control-request-method');
}

/**
 * The answer to a preflight: 204 with what the origin may do, or 403 `forbidden` when the origin, the
 * method or a header is not allowed (a browser then refuses the request; the body tells a developer why).
 */
export function preflightResponse(request: HttpRequest, cors: CorsConfig): HttpResponseInit {
  const vary = { Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
  const origin = allowedOrigin(request, cors);
  if (!origin) {
    const error = new ApiError('forbidden', `Origin ${request.headers.get('origin')} may not call this API from a browser.`);
    return jsonResponse(error.status, error.toBody(), vary);
  }
  const method = (request.headers.get('access-control-request-method') ?? '').toUpperCase();
  const requested = (request.headers.get('access-control-request-headers') ?? '')
    .split(',')
    .map((header) => header.trim())
    .filter((header) => header !== '');
  const known = new Set(CORS_REQUEST_HEADERS.map((header) => header.toLowerCase()));
  const refused = requested.filter((header) => !known.has(header.toLowerCase()));
  if (!(CORS_METHODS as readonly string[]).includes(method) || refused.length > 0) {
    const what = refused.length > 0 ? `header(s) ${refused.join(', ')}` : `method ${method || '(none)'}`;
    const error = new ApiError('forbidden', `A browser may not send ${what} to this API.`);
    return jsonResponse(error.status, error.toBody(), { ...vary, 'Access-Control-Allow-Origin': origin });
  }
  return {
    status: 204,
    headers: {
      ...vary,
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Methods': CORS_METHODS.join(', '),
      'Access-Control-Allow-Headers': CORS_REQUEST_HEADERS.join(', '),
      'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
    },
  };
}

/** The headers an actual cross-origin response carries; none for a request without an allowed Origin. */
export function corsResponseHeaders(request: HttpRequest, cors: CorsConfig): Record<string, string> {
  const origin = allowedOrigin(request, cors);
  if (!origin) return cors.allowedOrigins.length > 0 ? { Vary: 'Origin' } : {};
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': CORS_EXPOSED_HEADERS.join(', '), Vary: 'Origin' };
}
