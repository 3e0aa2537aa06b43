import { tracingChannel } from 'node:diagnostics_channel';
import type { Server } from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';

/*
 * The worker's HTTP proxy server (@azure/functions, HTTP streaming) runs in the host's own process here, where on
 * Azure it runs in the worker's. Reaching it over loopback TCP made every streamed byte cross the kernel twice more
 * (the proxy's write, the host's read): in the CPU profile of a 256 MiB download, socket writes were the largest
 * item, and host, worker and storage emulator share the same cores. A connection made of an in-memory duplex pair,
 * handed to the server with its 'connection' event ("any Duplex stream can be passed",
 * https://nodejs.org/api/http.html#event-connection), keeps the proxy's HTTP (framing, headers, backpressure) and
 * passes the body's buffers on without copying them.
 *
 * Servers are found through the `net.server.listen` tracing channel (https://nodejs.org/api/diagnostics_channel.html
 * #tracingchannel-channels), which sees every server of this process start listening; the host subscribes before it
 * loads the app.
 */

const listening = new Set<Server>();

tracingChannel('net.server.listen').subscribe({
  start() {},
  end() {},
  asyncStart(message) {
    const { server } = message as { server: Server };
    listening.add(server);
    server.once('close', () => listening.delete(server));
  },
  asyncEnd() {},
  error() {},
});

function serverOnPort(port: number): Server | undefined {
  for (const server of listening) {
    const address = server.address();
    if (address !== null && typeof address === 'object' && address.port === port) return server;
  }
  return undefined;
}

/**
 * A function that connects to the server of this process listening on `port` without a socket, or undefined when
 * no server of this process listens there (the proxy is in another process: use TCP).
 */
export function inProcessConnector(port: number): (() => Duplex) | undefined {
  if (!serverOnPort(port)) return undefined;
  return () => {
    const server = serverOnPort(port);
    if (!server) throw new Error(`Nothing of this process listens on port ${port} any more.`);
    const [client, serverSide] = duplexPair();
    // A TCP peer learns that the other end went away; the pair's sides do not, by themselves.
    client.once('close', () => serverSide.destroy());
    serverSide.once('close', () => client.destroy());
    server.emit('connection', serverSide);
    return client;
  };
}
