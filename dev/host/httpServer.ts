import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
}

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
    this.#server = createServer((req, res) => this.#handle(req, res));
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
