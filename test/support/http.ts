import { inject } from 'vitest';
import { openApiValidatorFor } from './openApiValidator.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
}

export interface RequestOptions {
  method?: string;
  /** An API key; `null` sends none. Defaults to the local user's key, unless a bearer token is given. */
  key?: string | null;
  /** Sent as `Authorization: Bearer <token>`. */
  bearer?: string;
  body?: unknown;
  headers?: Record<string, string>;
  baseUrl?: string;
  /** Skip the check against the OpenAPI document (for responses of other apps than the API). */
  unchecked?: boolean;
}

/** One HTTP request to the API under test, as a client makes it. */
export async function callApi(path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? (options.bearer ? null : inject('apiKey')) : options.key;
  if (key !== null) headers['X-API-Key'] = key;
  if (options.bearer) headers.Authorization = `Bearer ${options.bearer}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (options.body instanceof Uint8Array) {
    body = new Uint8Array(options.body); // bytes as they are (a multipart form): the caller sets the content type
  } else if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const method = options.method ?? 'GET';
  const url = `${options.baseUrl ?? inject('apiUrl')}${path}`;
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!options.unchecked) {
    const validator = await openApiValidatorFor(inject('apiUrl'));
    validator.check(method, url, response.status, response.headers.get('content-type'), json, response.headers);
  }
  return { status: response.status, headers: response.headers, text, json };
}
