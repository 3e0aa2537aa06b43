import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { inProcessConnector } from '../../dev/host/inProcessConnection.js';

const servers: Server[] = [];

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

describe('in-process connections to a server of this process (dev host, HTTP streaming proxy)', () => {
  it('carries a request with its body and the response without a socket', async () => {
    const { port } = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        res.setHeader('x-remote', String(req.socket.remoteAddress));
        res.end(`${req.method} ${req.url} ${body}`);
      });
    });
    const connect = inProcessConnector(port);
    expect(connect).toBeDefined();
    const req = request({ path: '/echo?q=1', method: 'POST', createConnection: connect });
    req.end('hello');
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    let text = '';
    for await (const chunk of res) text += (chunk as Buffer).toString('utf8');
    expect(res.statusCode).toBe(200);
    expect(text).toBe('POST /echo?q=1 hello');
    // Over TCP this would be 127.0.0.1: the request did not cross a socket.
    expect(res.headers['x-remote']).toBe('undefined');
  });

  it('is not offered for a port no server of this process listens on', async () => {
    const { server, port } = await listen((_, res) => res.end());
    await new Promise((done) => server.close(done));
    servers.splice(servers.indexOf(server), 1);
    expect(inProcessConnector(port)).toBeUndefined();
  });

  it('tells the server when the client goes away mid-response, as a TCP peer would', async () => {
    let serverResponse: ServerResponse | undefined;
    const { port } = await listen((_, res) => {
      serverResponse = res;
      res.write('first');
    });
    const req = request({ path: '/', createConnection: inProcessConnector(port) });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    await once(res, 'data');
    const closed = once(serverResponse!, 'close');
    req.destroy();
    await closed;
    expect(serverResponse!.writableFinished).toBe(false);
    expect(serverResponse!.destroyed).toBe(true);
  });
});
