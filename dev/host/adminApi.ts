import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegisteredFunction } from './functionsCore.js';
import { readRequestBody, RequestBodyTooLarge } from './httpClassic.js';
import type { HostLogger } from './hostLog.js';
import { FunctionInvocationError } from './invoker.js';
import type { TriggerListener } from './triggerListener.js';

/**
 * The parts of the host's admin API that local development uses, as Core Tools serves them
 * (https://learn.microsoft.com/azure/azure-functions/functions-manually-run-non-http):
 * - `POST /admin/functions/<name>` with `{ "input": "..." }` runs a non-HTTP function now and answers 202
 *   (timer: input ignored; queue: input is the message text; blob: input is the path `container/name`);
 * - `GET /admin/functions` and `GET /admin/functions/<name>` describe the functions;
 * - `GET /admin/host/status` says the host runs.
 * In Azure these require the master key (`x-functions-key`); the local host does not check keys.
 */

export interface AdminApiOptions {
  hostId: string;
  functions: RegisteredFunction[];
  listeners: ReadonlyMap<string, TriggerListener>;
  logger: HostLogger;
  baseUrl: () => string;
  /** The public path of an HTTP function (e.g. `/api/v1/items/{id}`), undefined for other triggers. */
  httpPath: (fn: RegisteredFunction) => string | undefined;
}

const startedAt = Date.now();

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

function describe(fn: RegisteredFunction, options: AdminApiOptions): Record<string, unknown> {
  const base = options.baseUrl();
  const httpPath = options.httpPath(fn);
  return {
    name: fn.name,
    href: `${base}/admin/functions/${encodeURIComponent(fn.name)}`,
    invoke_url_template: httpPath ? `${base}${httpPath}` : null,
    language: 'node',
    config: { bindings: (fn.metadata.rawBindings ?? []).map((b) => JSON.parse(b) as unknown) },
    isDisabled: false,
    isDirect: true,
    isProxy: false,
  };
}

/** Answers true when the request was for the admin API (and has been answered). */
export async function handleAdminRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: AdminApiOptions,
): Promise<boolean> {
  const segments = url.pathname.split('/').filter((s) => s !== '');
  if (segments[0]?.toLowerCase() !== 'admin') return false;
  const area = segments[1]?.toLowerCase();
  const method = req.method ?? 'GET';

  if (area === 'host' && segments[2]?.toLowerCase() === 'status' && segments.length === 3 && method === 'GET') {
    sendJson(res, 200, {
      id: options.hostId,
      state: 'Running',
      version: '4.x (local host)',
      processUptime: Date.now() - startedAt,
    });
    return true;
  }

  if (area !== 'functions' || segments.length > 3) {
    sendEmpty(res, 404);
    return true;
  }

  if (segments.length === 2) {
    if (method !== 'GET') sendEmpty(res, 405);
    else sendJson(res, 200, options.functions.map((fn) => describe(fn, options)));
    return true;
  }

  const name = decodeURIComponent(segments[2] as string);
  const fn = options.functions.find((f) => f.name.toLowerCase() === name.toLowerCase());
  if (!fn) {
    sendEmpty(res, 404);
    return true;
  }
  if (method === 'GET') {
    sendJson(res, 200, describe(fn, options));
    return true;
  }
  if (method !== 'POST') {
    sendEmpty(res, 405);
    return true;
  }

  const listener = options.listeners.get(fn.name);
  if (!listener) {
    // HTTP functions are called on their own route; the admin invoke is for the other triggers.
    sendJson(res, 400, { message: `Function "${fn.name}" is HTTP-triggered (or its trigger is not supported locally): call its route.` });
    return true;
  }

  let input = '';
  try {
    const body = await readRequestBody(req, 10 * 1024 * 1024);
    if (body.length > 0) {
      const parsed = JSON.parse(body.toString('utf8')) as { input?: unknown };
      const value = parsed?.input;
      input = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    }
  } catch (error) {
    sendJson(res, error instanceof RequestBodyTooLarge ? 413 : 400, { message: 'Body must be JSON like {"input": "..."}.' });
    return true;
  }

  sendEmpty(res, 202);
  listener.invokeFromAdmin(input).catch((error: unknown) => {
    // Invocation failures are logged by the invoker; this reports what failed before it (e.g. a missing blob).
    if (!(error instanceof FunctionInvocationError)) {
      options.logger.forFunction(fn.name, 'error', 'system', `Admin invocation failed: ${String(error)}`);
    }
  });
  return true;
}
