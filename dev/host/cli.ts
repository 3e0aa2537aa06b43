import { parseArgs } from 'node:util';
import { startFunctionsHost } from './index.js';

/**
 * Runs one app in this process: `node dist/dev/host/cli.js --app <dir> [--port 7071] [--hostname 127.0.0.1]
 * [--blob-poll-ms 1000] [--queue-poll-ms 1000]`. Prints `Host listening on <url>` once serving; SIGTERM or SIGINT
 * stops the host gracefully and exits 0 (like the worker on its terminate message).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      app: { type: 'string' },
      port: { type: 'string', default: '7071' },
      hostname: { type: 'string', default: '127.0.0.1' },
      'blob-poll-ms': { type: 'string' },
      'queue-poll-ms': { type: 'string' },
    },
  });
  if (!values.app) throw new Error('Usage: cli.js --app <dir> [--port 7071] [--hostname 127.0.0.1]');
  const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
  const host = await startFunctionsHost({
    appDir: values.app,
    port: Number(values.port),
    hostname: values.hostname,
    blobPollIntervalMs: number(values['blob-poll-ms']),
    queuePollIntervalMs: number(values['queue-poll-ms']),
  });

  let exiting = false;
  const shutdown = (signal: string) => {
    if (exiting) return;
    exiting = true;
    console.log(`Received ${signal}; stopping.`);
    host
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
