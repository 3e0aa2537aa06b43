import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  event: { id: string; type: string; created_at: string; data: Record<string, unknown> };
}

/** What the receiver does with the next request: answer a status, hang (never answer), redirect, or flood. */
export type ReceiverBehaviour = { status: number } | { hang: true } | { redirectTo: string } | { floodBytes: number };

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Behaviours for the coming requests, in order; once used up, 200. */
  plan(...behaviours: ReceiverBehaviour[]): void;
  close(): Promise<void>;
}

/** The receiver's side of Tracepipe-Signature, written as a receiver would (README: "Verifying signatures"). */
export function signatureVerifies(secret: string, body: string, header: string | undefined, toleranceSeconds = 300): boolean {
  if (!header) return false;
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A webhook receiver on loopback that records what it gets and answers as planned. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const planned: ReceiverBehaviour[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ path: request.url ?? '/', headers: request.headers, body, event: JSON.parse(body) as ReceivedWebhook['event'] });
      const behaviour = planned.shift() ?? { status: 200 };
      if ('hang' in behaviour) {
        hanging.add(response);
        return;
      }
      if ('redirectTo' in behaviour) {
        response.writeHead(307, { Location: behaviour.redirectTo }).end();
        return;
      }
      if ('floodBytes' in behaviour) {
        response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let sent = 0;
        const pump = () => {
          while (sent < behaviour.floodBytes) {
            sent += chunk.length;
            if (!response.write(chunk)) return void response.once('drain', pump);
          }
          response.end();
        };
        response.on('error', () => undefined);
        pump();
        return;
      }
      response.writeHead(behaviour.status, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    plan: (...behaviours) => planned.push(...behaviours),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
