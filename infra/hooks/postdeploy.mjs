// azd postdeploy hook (azure.yaml): the two steps that need the deployed code or the database.
//
// 1. Migrations, as the deploying principal (a Microsoft Entra administrator of the server, POSTGRES_ADMIN_NAME),
//    with the app's own Entra login path (shared/db/index.ts; DefaultAzureCredential finds `azd auth login` or
//    `az login`). The tables belong to whoever ran the migrations, so the app's role is then granted the data
//    on every table and sequence (again on every deployment, for the tables new migrations add).
// 2. The Event Grid subscriptions of the blob triggers (../blobEventSubscriptions.bicep), with the Azure CLI: they
//    need the host's blobs_extension key, which exists only once the deployed code has started.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const root = fileURLToPath(new URL('../../', import.meta.url));
const windows = process.platform === 'win32';

function setting(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not in the azd environment: run azd provision first`);
  return value;
}

async function migrate() {
  const adminName = process.env.POSTGRES_ADMIN_NAME;
  if (!adminName) {
    console.warn('POSTGRES_ADMIN_NAME is empty: no migrations run (see README, "Deploying to Azure").');
    return;
  }
  if (!existsSync(new URL('../../dist/shared/db/index.js', import.meta.url))) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: windows });
  }
  const { createDatabaseFromConfig } = await import(new URL('../../dist/shared/db/index.js', import.meta.url).href);
  const { migrateToLatest } = await import(new URL('../../dist/shared/db/migrator.js', import.meta.url).href);
  const { sql } = await import('kysely');
  const url =
    `postgres://${encodeURIComponent(adminName)}@${setting('POSTGRES_HOST')}:5432/` +
    `${setting('POSTGRES_DATABASE')}?sslmode=verify-full`;
  const db = createDatabaseFromConfig({ url, poolMax: 1, auth: 'entra' });
  try {
    const applied = await migrateToLatest(db);
    console.log(applied.length === 0 ? 'Migrations: nothing to do.' : `Migrations applied: ${applied.join(', ')}`);
    const app = sql.id(setting('POSTGRES_APP_ROLE'));
    await sql`grant usage on schema public to ${app}`.execute(db);
    await sql`grant select, insert, update, delete, truncate, references on all tables in schema public to ${app}`.execute(db);
    await sql`grant usage, select, update on all sequences in schema public to ${app}`.execute(db);
    await sql`grant execute on all functions in schema public to ${app}`.execute(db);
    console.log(`Granted the tables to ${setting('POSTGRES_APP_ROLE')}.`);
  } finally {
    await db.destroy();
  }
}

async function subscribeBlobTriggers() {
  const args = [
    'deployment', 'group', 'create',
    '--subscription', setting('AZURE_SUBSCRIPTION_ID'),
    '--resource-group', setting('AZURE_RESOURCE_GROUP'),
    '--name', 'blob-event-subscriptions',
    '--template-file', 'infra/blobEventSubscriptions.bicep',
    '--parameters', `functionAppName=${setting('AZURE_FUNCTION_APP_NAME')}`,
    `systemTopicName=${setting('EVENT_GRID_SYSTEM_TOPIC_NAME')}`,
    '--only-show-errors', '--output', 'none',
  ];
  for (let attempt = 1; ; attempt += 1) {
    try {
      execFileSync('az', args, { cwd: root, stdio: 'inherit', shell: windows });
      console.log('Event Grid subscriptions of the blob triggers: in place.');
      return;
    } catch (error) {
      if (attempt === 5) throw error;
      // The host makes its blobs_extension key when it first starts with the new code.
      console.warn(`Event Grid subscription failed (attempt ${attempt} of 5); retrying in 30 s.`);
      await sleep(30_000);
    }
  }
}

await migrate();
await subscribeBlobTriggers();
