// Limits: what this local host does not do, compared with Azure Functions (and Core Tools):
// - No keys: `authLevel` (function/admin) is not enforced, and the admin API (/admin/...) is open. In Azure the
//   admin API needs the master key; never expose this host beyond your machine.
// - One app per process, one worker: no scale-out, no FUNCTIONS_WORKER_PROCESS_COUNT, no placeholder mode, no
//   reload on file changes, and no worker restart: an uncaught exception in the app ends the process.
// - No `functionTimeout`, no retry policies (`retry` options, `retryContext`), no Durable Functions, no dynamic
//   concurrency, no `maxOutstandingRequests` throttling.
// - Triggers: HTTP, timer, Storage Blob and Storage Queue only. Other triggers (Service Bus, Event Hubs, Event Grid,
//   Cosmos DB, MCP, ...) are reported at start and never fire. Event Grid itself exists here only as a storage
//   account's BlobCreated events delivered to a Storage queue (LOCAL_EVENT_GRID_SUBSCRIPTIONS,
//   blobEventSubscriptions.ts). Extra input/output bindings (`extraInputs`, and `extraOutputs` other than HTTP) are
//   not bound: inputs read as undefined, outputs are dropped (named at start).
// - Blob triggers poll: the container is listed (under the path's literal prefix) every `blobPollIntervalMs`,
//   default 1 s. `source: 'EventGrid'` is treated like `LogsAndContainerScan`: no Event Grid locally. Retries of
//   a failing blob run inside the process, 200 ms apart, not through the internal blob-trigger queue.
// - Queue triggers poll every `queuePollIntervalMs` (default 1 s), not with Azure's adaptive back-off; no
//   `newBatchThreshold`/`maxPollingInterval`.
// - Connections are connection strings in environment variables only: no identity-based connections
//   (`<name>__serviceUri`, ...), no Key Vault references; local.settings.json is not read (the caller sets env).
// - Timers: NCRONTAB (6 fields) and TimeSpan schedules in UTC or an IANA `WEBSITE_TIME_ZONE` (Windows zone names
//   are not understood); no singleton lock across processes, so two hosts on one storage account both fire.
// - HTTP: no CORS, no EasyAuth (`x-ms-client-principal`), no proxies.json, no HTTP/2, no content negotiation;
//   only ASP.NET's built-in route constraints are checked (custom ones accept anything). A function that
//   returns no HTTP response answers 200 with an empty body.
// - Logs are text lines to one sink: no Application Insights; host.json `logging.logLevel` is honoured for the
//   `default`, `Host` and `Function[.<name>[.User]]` keys only.
// - With HTTP streaming, the library's proxy server (started by `getCapabilities`) is not reachable from the host,
//   so `stop()` cannot close it; the process exit ends it (as the worker's exit does in Azure).

import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { loadEntryPoints, readHostConfig } from './appLoader.js';
import { readAppSetting } from './appSettings.js';
import { BlobEventSubscriptionSource, readBlobEventSubscriptions, readersOf } from './blobEventSubscriptions.js';
import { BlobTriggerListener } from './blobTriggers.js';
import type { AppStartContext, WorkerCapabilities } from './coreTypes.js';
import { FunctionsCore, installCoreModule, type RegisteredFunction } from './functionsCore.js';
import { HttpRouteTable } from './httpRoutes.js';
import { FunctionsHttpServer, type FunctionsHttpServerOptions } from './httpServer.js';
import { HttpStreamForwarder } from './httpStreamProxy.js';
import { batchedStdout, HostLogger } from './hostLog.js';
import { FunctionInvoker } from './invoker.js';
import { QueueTriggerListener } from './queueTriggers.js';
import { TimerTriggerListener } from './timerTriggers.js';
import { timerTimeZone } from './timerSchedule.js';
import type { TriggerListener } from './triggerListener.js';

export interface FunctionsHostOptions {
  /** Folder holding the app's package.json and host.json. */
  appDir: string;
  /** 0 = pick a free port. */
  port: number;
  /** Default '127.0.0.1'. */
  hostname?: string;
  /** Default 1000. */
  blobPollIntervalMs?: number;
  /** Default 1000. */
  queuePollIntervalMs?: number;
  /** Default: stdout (batchedStdout). Every function log line goes here, prefixed with [function name]. */
  log?: (line: string) => void;
  /** The body of the host's own 400 and 431 answers (the app's error shape); bare without it. */
  clientErrorBody?: FunctionsHttpServerOptions['clientErrorBody'];
}

export interface RunningFunctionsHost {
  /** E.g. http://127.0.0.1:7071 */
  url: string;
  /** `route` is the route template as registered (without the host.json prefix); `methods` upper-case. */
  functions: Array<{ name: string; trigger: string; route?: string; methods?: string[] }>;
  /**
   * Stops accepting requests, stops pollers and timers, waits for running invocations (bounded), runs appTerminate
   * hooks and closes every socket of the host.
   */
  stop(): Promise<void>;
}

/** How long `stop()` waits for running HTTP requests and invocations. */
const STOP_GRACE_MS = 10_000;

/** Capabilities the Node.js worker announces (azure-functions-nodejs-worker src/eventHandlers/getWorkerCapabilities.ts). */
const workerCapabilities: WorkerCapabilities = {
  RawHttpBodyBytes: 'true',
  RpcHttpTriggerMetadataRemoved: 'true',
  RpcHttpBodyOnly: 'true',
  IgnoreEmptyValuedRpcHttpHeaders: 'true',
  UseNullableValueDictionaryForHttp: 'true',
  WorkerStatus: 'true',
  TypedDataCollection: 'true',
  HandlesWorkerTerminateMessage: 'true',
};

/** A stable host id: the setting Azure uses, else derived from the app folder (Core Tools derives one locally too). */
function hostIdFor(appDir: string): string {
  const configured = readAppSetting('AzureFunctionsWebHost__hostid') ?? readAppSetting('AzureFunctionsWebHost:hostId');
  if (configured) return configured.toLowerCase().slice(0, 32);
  return createHash('sha256').update(appDir).digest('hex').slice(0, 32);
}

/** `AzureWebJobs.<name>.Disabled` (https://learn.microsoft.com/azure/azure-functions/disable-function). */
function isDisabled(name: string): boolean {
  const value = process.env[`AzureWebJobs.${name}.Disabled`] ?? process.env[`AzureWebJobs__${name}__Disabled`];
  return value !== undefined && /^(true|1)$/i.test(value.trim());
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

export async function startFunctionsHost(options: FunctionsHostOptions): Promise<RunningFunctionsHost> {
  const appDir = resolve(options.appDir);
  const config = readHostConfig(appDir);
  const logger = new HostLogger(options.log ?? batchedStdout(), config.logLevels);
  const core = new FunctionsCore(logger);
  installCoreModule(core.createApi());

  // The worker's order (src/eventHandlers/WorkerInitHandler.ts): load the entry points, run appStart hooks, then
  // ask the programming model for its capabilities (which locks app.setup and starts the streaming proxy).
  const files = await loadEntryPoints(appDir);
  logger.host('information', `Loaded ${files.length} entry point file(s) from ${appDir}`);
  const appStartContext: AppStartContext = {
    hookData: core.appLevelOnlyHookData,
    appHookData: core.appHookData,
    functionAppDirectory: appDir,
  };
  await core.executeHooks('appStart', appStartContext);
  const programmingModel = core.programmingModel;
  if (!programmingModel) throw new Error(`${appDir}: the app did not load @azure/functions, so no function was registered.`);
  const capabilities = programmingModel.getCapabilities
    ? await programmingModel.getCapabilities({ ...workerCapabilities })
    : workerCapabilities;
  core.finishStartup();

  const invoker = new FunctionInvoker(core);
  const hostId = hostIdFor(appDir);
  const routes = new HttpRouteTable<RegisteredFunction>(config.routePrefix);
  const listeners = new Map<string, TriggerListener>();
  const functions: RunningFunctionsHost['functions'] = [];
  const httpPaths = new Map<string, string>();
  const timeZone = timerTimeZone((message) => logger.host('warning', message));
  const inError = (fn: RegisteredFunction, error: unknown) =>
    logger.host('error', `The '${fn.name}' function is in error: ${error instanceof Error ? error.message : String(error)}`);

  const allowed = config.functions?.map((n) => n.toLowerCase());
  for (const fn of core.functions.values()) {
    if (isDisabled(fn.name)) {
      logger.host('information', `Function '${fn.name}' is disabled.`);
      continue;
    }
    if (allowed && !allowed.includes(fn.name.toLowerCase())) continue;
    warnAboutUnboundBindings(fn, logger);
    const type = fn.trigger.type.toLowerCase();
    try {
      if (type === 'httptrigger') {
        const route = typeof fn.trigger.route === 'string' ? fn.trigger.route : fn.name;
        const methods = Array.isArray(fn.trigger.methods) ? fn.trigger.methods.map((m) => String(m).toUpperCase()) : undefined;
        routes.add(route, methods, fn);
        httpPaths.set(fn.name, routes.publicPath(route));
        functions.push({ name: fn.name, trigger: fn.trigger.type, route, ...(methods ? { methods } : {}) });
        continue;
      }
      if (type === 'timertrigger') {
        listeners.set(fn.name, new TimerTriggerListener(fn, { invoker, logger, hostId, timeZone }));
      } else if (type === 'blobtrigger') {
        listeners.set(
          fn.name,
          new BlobTriggerListener(fn, { invoker, logger, hostId, pollIntervalMs: options.blobPollIntervalMs ?? 1000 }),
        );
      } else if (type === 'queuetrigger') {
        listeners.set(
          fn.name,
          new QueueTriggerListener(fn, {
            invoker,
            logger,
            settings: config.queues,
            pollIntervalMs: options.queuePollIntervalMs ?? 1000,
          }),
        );
      } else {
        logger.host('warning', `Function '${fn.name}': trigger "${fn.trigger.type}" is not supported by the local host; it will not run.`);
        continue;
      }
      functions.push({ name: fn.name, trigger: fn.trigger.type });
    } catch (error) {
      inError(fn, error);
    }
  }

  const registered = [...core.functions.values()].filter((fn) => functions.some((f) => f.name === fn.name));
  // Event Grid subscriptions to Storage queues: one source per subscription and account whose queue a function reads.
  const eventSources: BlobEventSubscriptionSource[] = [];
  for (const subscription of readBlobEventSubscriptions()) {
    const readers = readersOf(subscription, registered);
    if (readers.length === 0) {
      logger.host('warning', `Event Grid subscription ${subscription.name}: no queue trigger reads queue ${subscription.queue}; nothing is delivered.`);
      continue;
    }
    const connections = new Set(readers.map((fn) => storageConnectionName(fn.trigger.connection)));
    for (const connection of connections) {
      eventSources.push(
        new BlobEventSubscriptionSource(subscription, connection, {
          logger,
          hostId,
          pollIntervalMs: options.blobPollIntervalMs ?? 1000,
        }),
      );
    }
  }

  const httpProxyUri = capabilities.HttpUri;
  const streamForwarder = httpProxyUri ? new HttpStreamForwarder(httpProxyUri, invoker) : undefined;
  const server = new FunctionsHttpServer({
    hostname: options.hostname ?? '127.0.0.1',
    port: options.port,
    routes,
    invoker,
    logger,
    streamForwarder,
    admin: { hostId, functions: registered, listeners, logger, httpPath: (fn) => httpPaths.get(fn.name) },
    ...(options.clientErrorBody ? { clientErrorBody: options.clientErrorBody } : {}),
  });
  const url = await server.listen();

  for (const [name, listener] of [...listeners]) {
    try {
      await listener.start();
    } catch (error) {
      const fn = core.functions.get(name);
      if (fn) inError(fn, error);
      listeners.delete(name);
      await listener.stop().catch(() => undefined);
    }
  }

  for (const source of eventSources) {
    await source.start();
    logger.host('information', `Event Grid (local): ${source.description}`);
  }

  logger.host('information', `Functions${streamForwarder ? ' (HTTP streaming on)' : ''}:`);
  for (const f of functions) {
    const path = httpPaths.get(f.name);
    const description = path ? `[${(f.methods ?? ['ALL']).join(',')}] ${url}${path}` : f.trigger;
    logger.host('information', `  ${f.name}: ${description}`);
  }
  logger.host('information', `Host listening on ${url}`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.host('information', 'Stopping the host...');
      await Promise.all([
        server.close(STOP_GRACE_MS),
        withTimeout(Promise.allSettled([...listeners.values(), ...eventSources].map((l) => l.stop())), STOP_GRACE_MS),
      ]);
      if (!(await invoker.drain(STOP_GRACE_MS))) {
        logger.host('warning', `Stopped with ${invoker.inFlightCount} invocation(s) still running.`);
      }
      try {
        await core.executeHooks('appTerminate', {
          hookData: core.appLevelOnlyHookData,
          appHookData: core.appHookData,
        });
      } catch (error) {
        logger.host('error', `An appTerminate hook failed: ${String(error)}`);
      }
      streamForwarder?.close();
      logger.host('information', 'Host stopped.');
    })();
    return stopping;
  };

  return { url, functions, stop };
}

/** Extra bindings the local host does not bind are named at start, so that their absence is not a mystery. */
function warnAboutUnboundBindings(fn: RegisteredFunction, logger: HostLogger): void {
  const unbound = Object.entries(fn.metadata.bindings)
    .filter(([name, b]) => name !== fn.triggerBindingName && String(b.type).toLowerCase() !== 'http')
    .map(([name, b]) => `${name} (${String(b.type)})`);
  if (unbound.length > 0) {
    logger.host('warning', `Function '${fn.name}': bindings ${unbound.join(', ')} are not supported by the local host and stay unbound.`);
  }
}

/** A binding's `connection` setting name, defaulted as the storage extensions default it. */
function storageConnectionName(connection: unknown): string {
  return typeof connection === 'string' && connection.trim() !== '' ? connection.trim() : 'AzureWebJobsStorage';
}
