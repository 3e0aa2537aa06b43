import { pathToFileURL } from 'node:url';
import { API_KEY_FORM, isApiKeyForm } from '../shared/auth/apiKeySecret.js';
import { createDatabase } from '../shared/db/database.js';
import { seedDatabase, type SeedSummary } from '../shared/seed/seed.js';
import { consoleOutput, type CommandOutput } from './commandOutput.js';

/*
 * node dist/scripts/seed.js, against DATABASE_URL, with the local developer's key TRACEPIPE_DEV_API_KEY hashed under
 * API_KEY_HMAC_SECRET. Exit codes: 0 done, 1 the seed failed, 2 a setting is missing or of the wrong form.
 */

const REQUIRED_SETTINGS = ['DATABASE_URL', 'API_KEY_HMAC_SECRET', 'TRACEPIPE_DEV_API_KEY'] as const;

function describeSummary(summary: SeedSummary): string[] {
  const { localApiKey, ...tables } = summary;
  return [
    ...Object.entries(tables).map(([table, { total, inserted }]) => `${table}: ${total} (${inserted} new)`),
    `local API key: ${localApiKey}`,
  ];
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // undefined_table: the schema is missing, which has one likely cause.
  const code = (error as { code?: unknown } | null)?.code;
  return code === '42P01' ? `${message} (run the migrations first: npm run migrate)` : message;
}

/** The whole CLI, minus process wiring: returns the exit code. */
export async function runSeedCommand(env: Record<string, string | undefined>, out: CommandOutput): Promise<number> {
  const { DATABASE_URL: databaseUrl, API_KEY_HMAC_SECRET: apiKeyHmacSecret, TRACEPIPE_DEV_API_KEY: localApiKey } = env;
  if (!databaseUrl || !apiKeyHmacSecret || !localApiKey) {
    const missing = REQUIRED_SETTINGS.filter((name) => !env[name]);
    out.error(`missing setting${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
    return 2;
  }
  if (!isApiKeyForm(localApiKey)) {
    // A key of another form would be seeded and then refused by every request.
    out.error(`TRACEPIPE_DEV_API_KEY must be ${API_KEY_FORM}`);
    return 2;
  }
  const db = createDatabase({ connectionString: databaseUrl, poolMax: 1 });
  try {
    const summary = await seedDatabase(db, { localApiKey, apiKeyHmacSecret });
    for (const line of describeSummary(summary)) out.log(line);
    return 0;
  } catch (error) {
    out.error(`seed failed: ${describeError(error)}`);
    return 1;
  } finally {
    await db.destroy();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.exitCode = await runSeedCommand(process.env, consoleOutput);
}
