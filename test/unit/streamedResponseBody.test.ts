import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { withProxyBackpressure } from '../../shared/http/streamedResponseBody.js';

/*
 * The library's HTTP proxy, reduced to what matters here: a server in this process that receives the host's request
 * with `x-ms-invocation-id` and writes the function's body into its response, chunk by chunk, without looking at
 * write()'s return (as @azure/functions' sendProxyResponse does).
 */
const servers: Server[] = [];

async function proxyServer(onResponse: (res: ServerResponse) => void): Promise<number> {
  const server = createServer((_, res) => onResponse(res));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

function endless(): Readable & { produced: number } {
  const source = Object.assign(
    new Readable({
      read() {
        // Asynchronously, as a download does: a copy loop that never stops must not starve the test's timers.
        setImmediate(() => {
          source.produced += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024, 120));
        });
      },
    }),
    { produced: 0 },
  );
  return source;
}

async function copyLikeTheLibrary(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  for await (const chunk of body) res.write(chunk);
  res.end();
}

describe('withProxyBackpressure (streamed response bodies under @azure/functions HTTP streaming)', () => {
  it('reads the source only as fast as the proxy response drains', async () => {
    const invocationId = randomUUID();
    const source = endless();
    let copying: Promise<void> | undefined;
    const port = await proxyServer((res) => (copying = copyLikeTheLibrary(withProxyBackpressure(source, invocationId), res)));
    const req = request({ port, host: '127.0.0.1', headers: { 'x-ms-invocation-id': invocationId } });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Unread by the client, the source stops once the socket buffers are full, rather than growing with the file.
    expect(source.produced).toBeGreaterThan(0);
    expect(source.produced).toBeLessThan(64 * 1024 * 1024);
    req.destroy();
    source.destroy();
    await copying?.catch(() => undefined);
  });

  it('stops reading the source when the client goes away, where the library would copy the rest into a closed response', async () => {
    const invocationId = randomUUID();
    const source = endless();
    let copying: Promise<void> | undefined;
    let proxyResponse: ServerResponse | undefined;
    const port = await proxyServer((res) => {
      proxyResponse = res;
      copying = copyLikeTheLibrary(withProxyBackpressure(source, invocationId), res);
    });
    const req = request({ port, host: '127.0.0.1', headers: { 'x-ms-invocation-id': invocationId } });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    await once(res, 'data');
    req.destroy();
    await once(proxyResponse!, 'close');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const destroyed = source.destroyed;
    source.destroy();
    await copying?.catch(() => undefined);
    expect(destroyed).toBe(true);
  });
});
