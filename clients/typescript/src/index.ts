/**
 * The typed Tracepipe client: openapi-fetch over the types generated from the API's OpenAPI document
 * (./schema.ts). Every path, parameter, body and response is typed from the document, so a caller (the
 * `tracepipe` CLI first) cannot drift from the API without failing to compile.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';
import { retryingFetch, type RetryOptions } from './retryingFetch.js';

export type { components, operations, paths } from './schema.js';
export { retryAfterMs, retryingFetch, type RetryOptions } from './retryingFetch.js';

export type Schemas = components['schemas'];
export type ApiErrorBody = Schemas['Error'];

export interface TracepipeClientOptions {
  /** The API's base URL, e.g. https://api.tracepipe.dev or http://127.0.0.1:7071 (routes are /v1/...). */
  baseUrl: string;
  /** An API key, `tp_live_sk_...`, sent as X-API-Key. */
  apiKey?: string;
  /** 429 and 503 are retried (see retryingFetch); `false` turns that off. */
  retry?: RetryOptions | false;
  userAgent?: string;
}

export function createTracepipeClient(options: TracepipeClientOptions) {
  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined) headers['X-API-Key'] = options.apiKey;
  if (options.userAgent !== undefined) headers['User-Agent'] = options.userAgent;
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers,
    ...(options.retry === false ? {} : { fetch: retryingFetch(options.retry ?? {}) }),
  });
}

export type TracepipeClient = ReturnType<typeof createTracepipeClient>;
