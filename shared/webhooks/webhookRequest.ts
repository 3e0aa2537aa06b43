import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedTarget } from './webhookAddressPolicy.js';

/*
 * One POST to a receiver, on node:http(s) rather than fetch: the connection must go to the address the policy
 * checked (a `lookup` that answers with it, so no second DNS query can swap it), while TLS still verifies the
 * certificate for the host name (servername stays the URL's host). No redirect is followed (node:http never does;
 * a 3xx is a failed attempt), the whole exchange is cut at the timeout, and at most `maxResponseBytes` of the answer
 * are read before the socket is closed: a receiver that stalls or sends a gigabyte costs us nothing more.
 */

export const WEBHOOK_TIMEOUT_MS = 10_000;
export const WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024;

export interface WebhookAttempt {
  /** The answer's status, or null when none came (refused, timed out, connection failed). */
  status: number | null;
  error: string | null;
  latencyMs: number;
}

function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    // Node asks for every address (`all`) when it may try several (autoSelectFamily): there is one.
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
    } else {
      callback(null, address, family);
    }
  };
}

export function postWebhook(
  target: Extract<ResolvedTarget, { ok: true }>,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; maxResponseBytes: number },
): Promise<WebhookAttempt> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const { url } = target;
  const requestOptions: RequestOptions = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    headers: {
      ...headers,
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      'User-Agent': 'Tracepipe-Webhooks/1',
    },
    lookup: pinnedLookup(target.address, target.family),
    agent: false,
  };
  return new Promise((resolve) => {
    let settled = false;
    // Once the status line came, the receiver has answered: a body that then stalls does not undo that.
    let answered: number | null = null;
    const finish = (attempt: Omit<WebhookAttempt, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve({ ...attempt, latencyMs: latency() });
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(requestOptions, (response: IncomingMessage) => {
      const status = response.statusCode ?? null;
      answered = status;
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // The answer's body is not used; reading a little lets a receiver finish writing, no more.
        if (read >= options.maxResponseBytes) finish(outcomeOf(status));
      });
      response.on('end', () => finish(outcomeOf(status)));
      response.on('error', () => finish(outcomeOf(status)));
    });
    const timer = setTimeout(
      () => finish(answered === null ? { status: null, error: `no answer within ${options.timeoutMs} ms` } : outcomeOf(answered)),
      options.timeoutMs,
    );
    request.on('error', (error: NodeJS.ErrnoException) => finish({ status: null, error: `connection failed: ${error.code ?? error.message}` }));
    request.end(body);
  });
}

function outcomeOf(status: number | null): Omit<WebhookAttempt, 'latencyMs'> {
  if (status !== null && status >= 200 && status < 300) return { status, error: null };
  if (status !== null && status >= 300 && status < 400) return { status, error: `HTTP ${status}: redirects are not followed` };
  return { status, error: `HTTP ${status}` };
}
