import { mkdirSync } from 'node:fs';

export interface RunningEmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite (PostgreSQL compiled to WASM) in this process, behind a PostgreSQL wire-protocol socket so that the app
 * uses the very same `pg` driver as in Azure. PGlite is a single connection: the socket server multiplexes
 * queries, not transactions, so the app must use a pool of one against it (dev/start.ts sets
 * DATABASE_POOL_MAX=1). The server still accepts a few sockets: with only one, a pool opened just after another
 * closed is refused about half the time while the old socket detaches (measured: 10 of 20 reconnects failed with
 * one, none with four).
 */
export const PGLITE_SOCKETS = 4;

export async function startEmbeddedPostgres(dataDir: string): Promise<RunningEmbeddedPostgres> {
  mkdirSync(dataDir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: PGLITE_SOCKETS });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
