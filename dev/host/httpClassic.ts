import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RpcHttpCookie, RpcHttpData, RpcInvocationResponse } from './coreTypes.js';
import type { RegisteredFunction } from './functionsCore.js';
import type { RouteParams } from './httpRoutes.js';

/**
 * Classic (non-streaming) HTTP, as the host and worker exchange it over RPC: the request goes to the function as
 * RpcHttpData with the whole body as bytes (the worker announces RawHttpBodyBytes), and the function's HTTP output
 * comes back as RpcHttpData (status code string, headers, cookies, body) that the host writes out.
 * Azure caps request bodies at 100 MB (https://learn.microsoft.com/azure/azure-functions/functions-scale#service-limits).
 */

export const MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;

const hopByHopHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

export function isHopByHopHeader(name: string): boolean {
  return hopByHopHeaders.has(name.toLowerCase());
}

export class RequestBodyTooLarge extends Error {}

/** Request headers as one string per name (repeats joined with ", ", cookies with "; "), names as sent. */
export function requestHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const namesByLower = new Map<string, string>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    const existing = namesByLower.get(lower);
    if (existing === undefined) {
      namesByLower.set(lower, name);
      headers[name] = value;
    } else {
      headers[existing] = `${headers[existing]}${lower === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return headers;
}

/** The query as the host passes it: one string per key, repeats joined with "," (ASP.NET StringValues). */
export function queryRecord(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
  return query;
}

export function requestUrl(req: IncomingMessage, fallbackHost: string): URL {
  return new URL(req.url ?? '/', `http://${req.headers.host ?? fallbackHost}`);
}

export async function readRequestBody(req: IncomingMessage, limit = MAX_REQUEST_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new RequestBodyTooLarge(`Request body larger than ${limit} bytes.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export function toRpcHttpRequest(req: IncomingMessage, url: URL, params: RouteParams, body: Buffer): RpcHttpData {
  return {
    method: req.method ?? 'GET',
    url: url.href,
    headers: requestHeaders(req),
    query: queryRecord(url),
    params,
    body: body.length > 0 ? { bytes: body } : null,
  };
}

/** The function's HTTP output: the `$return` binding, or a named `http` output binding. */
export function httpOutputOf(fn: RegisteredFunction, response: RpcInvocationResponse): RpcHttpData | undefined {
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    if (binding.direction !== 'out' || String(binding.type).toLowerCase() !== 'http') continue;
    const data = name === '$return' ? response.returnValue : response.outputData?.find((o) => o.name === name)?.data;
    if (data?.http) return data.http;
  }
  return undefined;
}

export function writeRpcHttpResponse(req: IncomingMessage, res: ServerResponse, http: RpcHttpData | undefined): void {
  // A function that returns nothing answers 200 with no body.
  const status = Number.parseInt(http?.statusCode ?? '200', 10);
  res.statusCode = Number.isFinite(status) && status >= 100 && status <= 999 ? status : 200;
  const setCookies: string[] = [];
  for (const [name, value] of Object.entries(http?.headers ?? {})) {
    const lower = name.toLowerCase();
    if (isHopByHopHeader(lower) || lower === 'content-length') continue;
    if (lower === 'set-cookie') setCookies.push(value);
    else res.setHeader(name, value);
  }
  for (const cookie of http?.cookies ?? []) setCookies.push(serializeCookie(cookie));
  if (setCookies.length > 0) res.setHeader('Set-Cookie', setCookies);

  const body = http?.body?.bytes
    ? Buffer.from(http.body.bytes)
    : typeof http?.body?.string === 'string'
      ? Buffer.from(http.body.string, 'utf8')
      : Buffer.alloc(0);
  const noBody = req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 || res.statusCode < 200;
  if (!noBody) res.setHeader('Content-Length', body.length);
  res.end(noBody ? undefined : body);
}

/**
 * A Set-Cookie value the way ASP.NET Core writes one (name and value escaped like Uri.EscapeDataString,
 * lower-case attributes).
 */
export function serializeCookie(cookie: RpcHttpCookie): string {
  const parts = [`${encodeURIComponent(cookie.name ?? '')}=${encodeURIComponent(cookie.value ?? '')}`];
  const seconds = cookie.expires?.value?.seconds;
  if (typeof seconds === 'number') parts.push(`expires=${new Date(seconds * 1000).toUTCString()}`);
  const maxAge = cookie.maxAge?.value;
  if (typeof maxAge === 'number') parts.push(`max-age=${Math.trunc(maxAge)}`);
  if (cookie.domain?.value) parts.push(`domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`path=${cookie.path.value}`);
  if (cookie.secure?.value) parts.push('secure');
  // 'none' means "not set" in the RPC enum; an explicit SameSite=None arrives as 'explicitNone'.
  if (cookie.sameSite === 'lax' || cookie.sameSite === 'strict') parts.push(`samesite=${cookie.sameSite}`);
  else if (cookie.sameSite === 'explicitNone') parts.push('samesite=none');
  if (cookie.httpOnly?.value) parts.push('httponly');
  return parts.join('; ');
}
