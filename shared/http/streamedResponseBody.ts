import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';

/*
 * Backpressure for streamed responses. With HTTP streaming on, @azure/functions copies a response body to the
 * Functions host through an HTTP proxy server of its own, in this process, and it writes each chunk without looking
 * at write()'s return (azure-functions-nodejs-library, src/http/httpProxy.ts, sendProxyResponse): a body read from
 * storage faster than the client takes it piles up in that ServerResponse's buffer, so memory grows with the file.
 * The proxy's responses are found through Node's `http.server.request.start` diagnostics channel
 * (https://nodejs.org/api/diagnostics_channel.html#http), keyed by the invocation id the host sends
 * (`x-ms-invocation-id`), and the body hands out its next chunk only once that response has drained.
 */

const INVOCATION_ID_HEADER = 'x-ms-invocation-id';
const proxyResponses = new Map<string, ServerResponse>();

subscribe('http.server.request.start', (message) => {
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  const invocationId = request.headers[INVOCATION_ID_HEADER];
  if (typeof invocationId !== 'string') return;
  proxyResponses.set(invocationId, response);
  response.once('close', () => proxyResponses.delete(invocationId));
});

function drained(response: ServerResponse): Promise<void> {
  if (!response.writableNeedDrain || response.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * The body as a web stream that is read one chunk at a time (highWaterMark 0: nothing read ahead), each chunk only
 * when the invocation's proxy response has room. Without a proxy response (classic mode, tests that call handlers)
 * it is a plain stream of the same bytes. Cancelling it (the client went away) destroys the source.
 */
export function withProxyBackpressure(body: Readable, invocationId: string): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  // Kept once found: the map lets go of a response when it closes, and a closed one must still be seen as closed.
  let response: ServerResponse | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        response ??= proxyResponses.get(invocationId);
        if (response) await drained(response);
        if (response?.destroyed) {
          // The client went away: the library would go on writing the rest of the file into a closed response.
          body.destroy();
          controller.close();
          return;
        }
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel(reason) {
        body.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Node streams in a response's body are what storage downloads are; strings and buffers need nothing. */
export function isNodeReadable(body: unknown): body is Readable {
  return body instanceof Readable;
}
