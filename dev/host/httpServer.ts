import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { handleAdminRequest, type AdminApiOptions } from './adminApi.js';
import type { RegisteredFunction } from './functionsCore.js';
import {
  httpOutputOf,
  readRequestBody,
  RequestBodyTooLarge,
  requestUrl,
  toRpcHttpRequest,
  writeRpcHttpResponse,
} from './httpClassic.js';
import type { HttpRouteTable, RouteParams } from './httpRoutes.js';
import type { HttpStreamForwarder } from './httpStreamProxy.js';
import type { HostLogger } from './hostLog.js';
import type { FunctionInvoker } from './invoker.js';

/**
 * The host's HTTP front door: `/admin/...` first (reserved in Azure too), then the function routes in precedence
 * order; no match is 404 with an empty body. Each matched request runs in classic mode (RPC http data) or, when the
 * app enabled HTTP streaming, through the library's proxy.
 */

export interface FunctionsHttpServerOptions {
  hostname: string;
  port: number;
  routes: HttpRouteTable<RegisteredFunction>;
  invoker: FunctionInvoker;
  logger: HostLogger;
  streamForwarder: HttpStreamForwarder | undefined;
  admin: Omit<AdminApiOptions, 'baseUrl'>;
  /**
   * The body of an answer the host gives before any function runs: a request Node cannot parse (400) or whose
   * headers are over `maxHeaderSize` (431). Without it the answer is bare, as Node's own.
   */
  clientErrorBody?: (status: 400 | 431, reason: string) => { contentType: string; body: string };
}

/** Node's default total size of request headers (`--max-http-header-size`), named for the README's limits. */
export const MAX_REQUEST_HEADER_BYTES = 16 * 1024;

const HTTP_REASON = 'This function was programmatically called via the host APIs.';

export class FunctionsHttpServer {
  readonly #options: FunctionsHttpServerOptions;
  readonly #server: Server;
  #url = '';
  #active = 0;
  #stopping = false;
  #onIdle: (() => void) | undefined;

  constructor(options: FunctionsHttpServerOptions) {
    this.#options = options;
    this.#server = createServer({ maxHeaderSize: MAX_REQUEST_HEADER_BYTES }, (req, res) => this.#handle(req, res));
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.#clientError(error, socket));
    // Large streamed uploads may take long; Node's default 5-minute request timeout would cut them.
    this.#server.requestTimeout = 0;
  }

  get url(): string {
    return this.#url;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.hostname, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.#url = `http://${host}:${address.port}`;
    return this.#url;
  }

  /** Stops accepting, lets running requests finish (at most `graceMs`), then closes every socket. */
  async close(graceMs: number): Promise<void> {
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    if (this.#active > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#server.closeAllConnections();
    await closed;
  }

  /**
   * A request that never became one (https://nodejs.org/api/http.html#event-clienterror): answered on the socket,
   * since there is no response object yet, then closed. A reset or timed-out connection gets nothing.
   */
  #clientError(error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const reason =
      status === 431
        ? `The request headers are over ${MAX_REQUEST_HEADER_BYTES} bytes in total.`
        : 'The request is not valid HTTP/1.1.';
    const answer = this.#options.clientErrorBody?.(status, reason) ?? { contentType: 'text/plain', body: '' };
    const body = Buffer.from(answer.body, 'utf8');
    const head =
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `Content-Type: ${answer.contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#active++;
    res.once('close', () => {
      this.#active--;
      if (this.#active === 0) this.#onIdle?.();
    });
    if (this.#stopping) res.setHeader('Connection', 'close');
    this.#route(req, res).catch((error: unknown) => {
      const clientGone = req.destroyed && !req.readableEnded;
      this.#options.logger.host(clientGone ? 'debug' : 'error', `HTTP ${req.method} ${req.url} failed in the host: ${String(error)}`);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('Content-Length', 0);
        res.end();
      } else {
        res.destroy();
      }
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req, this.#url.replace(/^http:\/\//, ''));
    if (await handleAdminRequest(req, res, url, { ...this.#options.admin, baseUrl: () => this.#url })) return;

    const match = this.#options.routes.match(req.method ?? 'GET', url.pathname);
    if (!match) {
      res.statusCode = 404;
      res.setHeader('Content-Length', 0);
      res.end();
      return;
    }
    if (this.#options.streamForwarder) {
      await this.#options.streamForwarder.forward(req, res, match.target, url, match.params);
    } else {
      await this.#classic(req, res, match.target, url, match.params);
    }
  }

  async #classic(req: IncomingMessage, res: ServerResponse, fn: RegisteredFunction, url: URL, params: RouteParams): Promise<void> {
    let body: Buffer;
    try {
      body = await readRequestBody(req);
    } catch (error) {
      if (!(error instanceof RequestBodyTooLarge)) throw error;
      res.writeHead(413, { 'Content-Length': 0, Connection: 'close' });
      res.end();
      return;
    }
    const http = toRpcHttpRequest(req, url, params, body);
    let outcome;
    try {
      outcome = await this.#options.invoker.invoke(
        fn,
        { inputData: [{ name: fn.triggerBindingName, data: { http } }], triggerMetadata: {} },
        { reason: HTTP_REASON },
      );
    } catch {
      // Logged by the invoker. Azure answers a failed invocation with 500 and an empty body.
      res.writeHead(500, { 'Content-Length': 0 });
      res.end();
      return;
    }
    writeRpcHttpResponse(req, res, httpOutputOf(fn, outcome.response));
  }
}
