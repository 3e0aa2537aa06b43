/**
 * `npm start`: the API on this machine, on embedded defaults where settings are missing (DESIGN.md, "Running it
 * here"): PGlite unless DATABASE_URL is set, Azurite unless a storage connection string is set, Stripe off unless
 * STRIPE_SECRET_KEY is set. Runs migrations and the seed, then serves the Functions app through the local host.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../shared/config.js';
import { ApiError } from '../shared/errors/apiError.js';
import { createDatabase } from '../shared/db/database.js';
import { migrateToLatest } from '../shared/db/migrator.js';
import { seedDatabase } from '../shared/seed/seed.js';
import { createBlobServiceClient, createQueueServiceClient } from '../shared/storage/clients.js';
import { ensureStorageLayout } from '../shared/storage/layout.js';
import { loadOrCreateDevSecrets } from './devSecrets.js';
import { removeLocalHostInfo, writeLocalHostInfo } from './localHostFile.js';
import { API_KEY_FORM, isApiKeyForm } from '../shared/auth/apiKeySecret.js';
import { EXAMPLE_JOBS_QUEUE } from '../shared/storage/layout.js';
import { UPLOAD_EVENTS_SUBSCRIPTION } from '../shared/sessions/sessionBlob.js';
import { EVENT_GRID_SUBSCRIPTIONS_SETTING } from './host/blobEventSubscriptions.js';
import { AZURITE_STANDARD_PORTS, startAzuriteOnPreferredPorts, type RunningAzurite } from './embedded/azurite.js';
import { startEmbeddedPostgres, type RunningEmbeddedPostgres } from './embedded/postgres.js';
import { startFunctionsHost, type RunningFunctionsHost } from './host/index.js';

const projectRoot = resolve(fileURLToPath(import.meta.url), '../../..');

const portSetting = z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535);

const devSettingsSchema = z.object({
  PORT: portSetting.default(7071),
  HOST: z.string().min(1).default('127.0.0.1'),
  TRACEPIPE_DATA_DIR: z.string().min(1).default('.data'),
  // The form authentication accepts (shared/auth/apiKeySecret.ts), so that the printed key is one that works.
  TRACEPIPE_DEV_API_KEY: z
    .string()
    .trim()
    .refine(isApiKeyForm, `must be ${API_KEY_FORM}`)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  // Azurite's standard ports, as tools and SDKs expect them (UseDevelopmentStorage=true); 0 picks free ones.
  AZURITE_BLOB_PORT: portSetting.default(AZURITE_STANDARD_PORTS.blob),
  AZURITE_QUEUE_PORT: portSetting.default(AZURITE_STANDARD_PORTS.queue),
});

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function readDevSettings() {
  const parsed = devSettingsSchema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${issue.path.join('.')} ${issue.message}`);
    fail(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return parsed.data;
}

function has(name: string): boolean {
  return Boolean(process.env[name]?.trim());
}

async function main(): Promise<void> {
  const settings = readDevSettings();
  const dataDir = resolve(projectRoot, settings.TRACEPIPE_DATA_DIR);
  process.env.TRACEPIPE_ENV ||= 'development';

  const embedDatabase = !has('DATABASE_URL');
  const embedStorage =
    !has('AZURE_STORAGE_CONNECTION_STRING') && !has('AzureWebJobsStorage') && !has('AZURE_STORAGE_ACCOUNT_URL');
  if (!has('API_KEY_HMAC_SECRET') || !settings.TRACEPIPE_DEV_API_KEY) {
    const secrets = loadOrCreateDevSecrets(dataDir);
    process.env.API_KEY_HMAC_SECRET ||= secrets.apiKeyHmacSecret;
    settings.TRACEPIPE_DEV_API_KEY ??= secrets.localApiKey;
  }
  const localApiKey = settings.TRACEPIPE_DEV_API_KEY as string;

  // Validate what was given before starting anything, with stand-ins for what will be embedded, so that bad
  // configuration stops the start with the setting's name and leaves no child process behind.
  try {
    loadConfig({
      ...process.env,
      ...(embedDatabase ? { DATABASE_URL: 'postgres://embedded/postgres', DATABASE_POOL_MAX: '1' } : {}),
      ...(embedStorage ? { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }

  let postgres: RunningEmbeddedPostgres | undefined;
  let azurite: RunningAzurite | undefined;
  let host: RunningFunctionsHost | undefined;
  let stopping = false;

  const shutdown = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping...');
    removeLocalHostInfo(dataDir);
    await host?.stop().catch((error: unknown) => console.error('Host stop failed:', error));
    await azurite?.stop().catch((error: unknown) => console.error('Azurite stop failed:', error));
    await postgres?.stop().catch((error: unknown) => console.error('PGlite stop failed:', error));
    process.exit(exitCode);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1); // a second Ctrl-C means now
      void shutdown(0);
    });
  }

  try {
    // PGlite (in this process) and Azurite (a child) start side by side: neither waits for the other, and a
    // second start on the same data spends most of its time here. Both are kept for shutdown even if one fails.
    const [embeddedPostgres, embeddedAzurite] = await Promise.allSettled([
      embedDatabase ? startEmbeddedPostgres(resolve(dataDir, 'pglite')) : undefined,
      embedStorage
        ? startAzuriteOnPreferredPorts(resolve(dataDir, 'azurite'), { blob: settings.AZURITE_BLOB_PORT, queue: settings.AZURITE_QUEUE_PORT })
        : undefined,
    ]);
    if (embeddedPostgres.status === 'fulfilled') postgres = embeddedPostgres.value;
    if (embeddedAzurite.status === 'fulfilled') azurite = embeddedAzurite.value;
    if (embeddedPostgres.status === 'rejected') throw embeddedPostgres.reason;
    if (embeddedAzurite.status === 'rejected') throw embeddedAzurite.reason;
    if (postgres) {
      process.env.DATABASE_URL = postgres.url;
      process.env.DATABASE_POOL_MAX = '1';
    }
    if (azurite) process.env.AZURE_STORAGE_CONNECTION_STRING = azurite.connectionString;
    // The Functions runtime's own storage setting (blob and queue triggers); Azurite doubles for it locally.
    process.env.AzureWebJobsStorage ||= process.env.AZURE_STORAGE_CONNECTION_STRING;
    // What infra/ subscribes in Azure: the host delivers the same BlobCreated events to the same queue.
    process.env[EVENT_GRID_SUBSCRIPTIONS_SETTING] ||= JSON.stringify([UPLOAD_EVENTS_SUBSCRIPTION]);

    const config = loadConfig(process.env);
    const prepareDatabase = async () => {
      const db = createDatabase({ connectionString: config.database.url, poolMax: 1 });
      try {
        const applied = await migrateToLatest(db);
        console.log(applied.length ? `Migrations applied: ${applied.join(', ')}` : 'Migrations: up to date');
        await seedDatabase(db, { localApiKey, apiKeyHmacSecret: config.apiKeyHmacSecret });
      } finally {
        await db.destroy();
      }
    };
    // The database and the storage layout are independent: prepared at the same time.
    await Promise.all([
      prepareDatabase(),
      ensureStorageLayout(createBlobServiceClient(config.storage), createQueueServiceClient(config.storage)),
    ]);

    host = await startFunctionsHost({
      appDir: projectRoot,
      port: settings.PORT,
      hostname: settings.HOST,
      // The host's own refusals (headers too large, unparsable requests) in the API's error shape too.
      clientErrorBody: (status, reason) => ({
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify(new ApiError(status === 431 ? 'headers_too_large' : 'bad_request', reason).toBody()),
      }),
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await shutdown(1);
    return;
  }

  const url = host.url;
  writeLocalHostInfo(dataDir, {
    url,
    apiKey: localApiKey,
    storageConnectionString: process.env.AZURE_STORAGE_CONNECTION_STRING ?? '',
  });
  console.log(
    [
      '',
      `Tracepipe API listening on ${url}`,
      `  Base URL: ${url}/v1`,
      `  Docs:     ${url}/v1/docs`,
      `  OpenAPI:  ${url}/v1/openapi.json`,
      `  Agents:   MCP ${url}/v1/mcp, A2A ${url}/.well-known/agent-card.json`,
      `  API key:  ${localApiKey}`,
      `  Database: ${embedDatabase ? `embedded PGlite in ${resolve(dataDir, 'pglite')}` : 'DATABASE_URL'}`,
      `  Storage:  ${azurite ? `embedded Azurite in ${resolve(dataDir, 'azurite')}` : 'configured connection'}`,
      // Azurite's account key is public; a configured connection string may hold a secret and is not printed.
      ...(azurite
        ? [
            `            blob ${azurite.blobEndpoint}, queue ${azurite.queueEndpoint}; jobs: queue ${EXAMPLE_JOBS_QUEUE}`,
            `            AZURE_STORAGE_CONNECTION_STRING="${azurite.connectionString}"`,
          ]
        : []),
      `  Stripe:   ${has('STRIPE_SECRET_KEY') ? 'on' : 'off (usage accrues and is sent once STRIPE_SECRET_KEY is set)'}`,
      `  Try:      curl -H "X-API-Key: ${localApiKey}" ${url}/v1/users/me`,
      '',
    ].join('\n'),
  );
}

await main();
