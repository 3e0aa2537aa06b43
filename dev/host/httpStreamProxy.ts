import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { RpcTypedData } from './coreTypes.js';
import type { RegisteredFunction } from './functionsCore.js';
import { httpOutputOf, isHopByHopHeader, queryRecord, requestHeaders } from './httpClassic.js';
import type { RouteParams } from './httpRoutes.js';
import type { FunctionInvoker } from './invoker.js';

/**
 * HTTP streaming (`app.setup({ enableHttpStream: true })`), as the Functions host does it: the library runs an
 * HTTP proxy server inside the worker process and tells the host its address (`HttpUri` capability). For each
 * request the host
 * 1. sends the invocation over "RPC" (here: a call into the invoker) with `triggerMetadata.Headers` (JSON) and each
 *    route parameter as a string, and at the same time
 * 2. forwards the incoming request, body streamed, to `HttpUri` with the original path and query and headers
 *    `x-ms-invocation-id`, `x-forwarded-host`, `x-forwarded-proto`; the library pairs it with the invocation by id
 *    and hands the body stream to the handler as `request.body`;
 * 3. pipes the proxy's response (status, headers, body stream) back to the client as soon as it starts.
 * Both directions are streams with backpressure (`pipe`/`pipeline`); no body is held in memory by the host.
 * If the function fails before answering, the client gets 500 with an empty body; if it returns no HTTP response,
 * 200 with no body, as in classic mode.
 */
export class HttpStreamForwarder {
  readonly #proxyUri: URL;
  // With a timeout set, Node's agent closes a free socket a second before the server's Keep-Alive hint says the
  // server will (the library's proxy is an http.Server: keepAliveTimeout 5 s, "Keep-Alive: timeout=5"); without one
  // it keeps the socket past that, and a request sent on it just as the server closed it met ECONNRESET, which the
  // host answered with a 500 (seen once in CI: twelve concurrent POST /v1/users). The timeout itself only
  // notifies: a request in use is not ended by it.
  readonly #agent = new Agent({ keepAlive: true, timeout: 10 * 60_000 });
  readonly #invoker: FunctionInvoker;

  constructor(proxyUri: string, invoker: FunctionInvoker) {
    this.#proxyUri = new URL(proxyUri);
    this.#invoker = invoker;
  }

  close(): void {
    this.#agent.destroy();
  }

  /** Resolves when the client's response has ended (or the client went away). */
  forward(req: IncomingMessage, res: ServerResponse, fn: RegisteredFunction, url: URL, params: RouteParams): Promise<void> {
    const invocationId = randomUUID();
    const headers = requestHeaders(req);
    const forwardedHeaders: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      if (!isHopByHopHeader(lower) && lower !== 'host') forwardedHeaders[name] = value;
    }
    forwardedHeaders['x-ms-invocation-id'] = invocationId;
    forwardedHeaders['x-forwarded-host'] = req.headers.host ?? url.host;
    forwardedHeaders['x-forwarded-proto'] = 'http';

    return new Promise<void>((resolve) => {
      let responseStarted = false;
      let answeredByHost = false;
      let settled = false;
      const finish = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      res.once('close', finish);

      const proxyReq = httpRequest({
        protocol: this.#proxyUri.protocol,
        hostname: this.#proxyUri.hostname,
        port: this.#proxyUri.port,
        path: req.url ?? '/', // as the client sent it: the library rebuilds request.url from it
        method: req.method,
        headers: forwardedHeaders,
        agent: this.#agent,
      });
      const abandonProxy = () => {
        req.unpipe(proxyReq);
        proxyReq.destroy();
      };
      const answerWithoutProxy = (status: number) => {
        if (answeredByHost) return;
        answeredByHost = true;
        abandonProxy();
        req.resume(); // drain what the client still sends, so it can read our answer
        if (res.headersSent) {
          res.destroy();
        } else {
          res.statusCode = status;
          res.setHeader('Content-Length', 0);
          res.end();
        }
      };

      proxyReq.on('response', (proxyRes: IncomingMessage) => {
        responseStarted = true;
        // A connection that carried a request body is not pooled: the handler may have answered without reading
        // it all (a 413), and the library's server then drops the connection, possibly after Node's agent pooled
        // it, so that the next request met ECONNRESET. Decided here, not when sending: a request that said
        // "Connection: close" could see the server close before its early answer was read. Without keep-alive
        // Node closes the socket at the response's end.
        if (hasRequestBody(req)) proxyReq.shouldKeepAlive = false;
        const responseHeaders: OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(proxyRes.headers)) {
          if (value !== undefined && !isHopByHopHeader(name)) responseHeaders[name] = value;
        }
        res.writeHead(proxyRes.statusCode ?? 500, responseHeaders);
        pipeline(proxyRes, res, () => {
          // Answered before reading the whole request body (the handler ignored it): stop forwarding it and
          // discard the rest, as a server does when it responds early.
          if (!req.readableEnded) {
            abandonProxy();
            req.resume();
          }
          finish();
        });
      });
      proxyReq.on('error', () => {
        // Abandoned by us, or the proxy is unreachable: then the client must not wait for an answer that cannot come.
        if (!responseStarted) answerWithoutProxy(500);
      });
      req.on('error', () => proxyReq.destroy());
      res.on('close', () => {
        // The client went away: stop feeding the proxy (the handler sees its body stream end with an error).
        if (!res.writableFinished) abandonProxy();
      });
      proxyReq.flushHeaders();
      req.pipe(proxyReq);

      const triggerMetadata: Record<string, RpcTypedData> = {
        Headers: { json: JSON.stringify(headers) },
        Query: { json: JSON.stringify(queryRecord(url)) },
      };
      for (const [name, value] of Object.entries(params)) triggerMetadata[name] = { string: value };

      this.#invoker
        .invoke(
          fn,
          {
            // The library reads the request from the proxy in stream mode; the binding entry only names it.
            inputData: [{ name: fn.triggerBindingName, data: { http: { method: req.method ?? 'GET', url: url.href } } }],
            triggerMetadata,
          },
          { reason: 'This function was programmatically called via the host APIs.', invocationId },
        )
        .then((outcome) => {
          if (responseStarted) return;
          if (producedHttpResponse(fn, outcome.context, outcome.result) || httpOutputOf(fn, outcome.response)) {
            // The library has written the response to the proxy; its head is on the way.
            return;
          }
          answerWithoutProxy(200);
        })
        .catch(() => {
          // The invoker has logged the error. Like Azure: 500 with an empty body (or a cut stream if it had begun).
          answerWithoutProxy(500);
        });
    });
  }
}

function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Whether the function's HTTP output binding got a value, i.e. whether the library sent a proxy response. */
function producedHttpResponse(fn: RegisteredFunction, context: unknown, result: unknown): boolean {
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    if (binding.direction !== 'out' || String(binding.type).toLowerCase() !== 'http') continue;
    const value = name === '$return' ? result : extraOutput(context, name);
    if (value !== null && value !== undefined) return true;
  }
  return false;
}

function extraOutput(context: unknown, name: string): unknown {
  const outputs = (context as { extraOutputs?: { get?: (name: string) => unknown } } | undefined)?.extraOutputs;
  return typeof outputs?.get === 'function' ? outputs.get(name) : undefined;
}
