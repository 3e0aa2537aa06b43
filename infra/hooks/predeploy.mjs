// azd predeploy hook (azure.yaml): the database, before the new code is live. azd runs it after provisioning and
// before it deploys the package, and stops the deployment when it exits non-zero, which it does on any failure: a
// release whose migrations did not run is not deployed.
//
// 1. This machine's public address through the PostgreSQL firewall for this run only (a rule named
//    predeploy-<time>, deleted when the run ends, and any such rule an earlier run left behind deleted first): the
//    server has no other rule; the app reaches it through its private endpoint.
// 2. As the deploying principal, the server's Microsoft Entra administrator (POSTGRES_ADMIN_NAME), signed in with
//    azd or az: the app's role with the Entra principal function, the migrations, the app's grants
//    (scripts/releaseDatabase.ts). The migrations must be backward compatible: the previous release serves while
//    they run (README, "Deploying to Azure").
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const windows = process.platform === 'win32';
const RULE_PREFIX = 'predeploy-';

function setting(name, hint) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not in the azd environment: ${hint ?? 'run azd provision first'}.`);
  return value;
}

function az(args) {
  return execFileSync('az', [...args, '--subscription', process.env.AZURE_SUBSCRIPTION_ID, '--only-show-errors'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    shell: windows,
  });
}

/** Everything the hook needs from the azd environment, read before it changes anything. */
function readEnvironment() {
  return {
    subscription: setting('AZURE_SUBSCRIPTION_ID'),
    server: ['--resource-group', setting('AZURE_RESOURCE_GROUP'), '--name', setting('POSTGRES_SERVER_NAME')],
    host: setting('POSTGRES_HOST'),
    database: setting('POSTGRES_DATABASE'),
    appRole: setting('POSTGRES_APP_ROLE'),
    appPrincipalId: setting('AZURE_FUNCTION_APP_PRINCIPAL_ID'),
    adminName: setting(
      'POSTGRES_ADMIN_NAME',
      "the deploying principal as PostgreSQL knows it (a user's UPN, or a service principal's display name with " +
        'AZURE_PRINCIPAL_TYPE=ServicePrincipal): azd env set POSTGRES_ADMIN_NAME <name>, then azd provision',
    ),
  };
}

let server = [];

function deleteRules(names) {
  for (const rule of names) {
    az(['postgres', 'flexible-server', 'firewall-rule', 'delete', ...server, '--rule-name', rule, '--yes', '--output', 'none']);
    console.log(`PostgreSQL firewall: removed ${rule}.`);
  }
}

async function publicAddress() {
  const response = await fetch('https://api.ipify.org', { signal: AbortSignal.timeout(10_000) });
  const address = (await response.text()).trim();
  if (!response.ok || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    throw new Error(`could not find this machine's public IPv4 address (answer ${response.status})`);
  }
  return address;
}

async function releaseDatabase(env) {
  if (!existsSync(new URL('../../dist/scripts/releaseDatabase.js', import.meta.url))) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: windows });
  }
  const { createDatabaseFromConfig } = await import(new URL('../../dist/shared/db/index.js', import.meta.url).href);
  const { ensureAppPrincipal, migrateAndGrant } = await import(new URL('../../dist/scripts/releaseDatabase.js', import.meta.url).href);
  const { AzureCliCredential, AzureDeveloperCliCredential, ChainedTokenCredential } = await import('@azure/identity');
  // The deploying principal's own sign-in, never the app's identity.
  const credential = new ChainedTokenCredential(new AzureDeveloperCliCredential(), new AzureCliCredential());
  const url = (database) => `postgres://${encodeURIComponent(env.adminName)}@${env.host}:5432/${database}?sslmode=verify-full`;
  const open = (database) => createDatabaseFromConfig({ url: url(database), poolMax: 1, auth: 'entra' }, () => credential);

  const { appRole } = env;
  const postgres = open('postgres');
  try {
    const made = await ensureAppPrincipal(postgres, { roleName: appRole, objectId: env.appPrincipalId });
    console.log(made ? `PostgreSQL: made the role ${appRole} for the app's identity.` : `PostgreSQL: role ${appRole} exists.`);
  } finally {
    await postgres.destroy();
  }
  const databaseName = env.database;
  const db = open(databaseName);
  try {
    const applied = await migrateAndGrant(db, databaseName, appRole);
    console.log(applied.length === 0 ? 'Migrations: nothing to do.' : `Migrations applied: ${applied.join(', ')}`);
    console.log(`Granted the tables, sequences and functions to ${appRole}.`);
  } finally {
    await db.destroy();
  }
}

let rule;
try {
  const env = readEnvironment();
  server = env.server;
  const leftovers = JSON.parse(az(['postgres', 'flexible-server', 'firewall-rule', 'list', ...server, '--output', 'json']))
    .map((entry) => entry.name)
    .filter((name) => name.startsWith(RULE_PREFIX));
  deleteRules(leftovers);
  const address = await publicAddress();
  rule = `${RULE_PREFIX}${Date.now()}`;
  az(['postgres', 'flexible-server', 'firewall-rule', 'create', ...server, '--rule-name', rule,
    '--start-ip-address', address, '--end-ip-address', address, '--output', 'none']);
  console.log(`PostgreSQL firewall: ${rule} lets ${address} in for this deployment.`);
  await releaseDatabase(env);
} catch (error) {
  console.error(`\nThe database step failed; nothing is deployed.\n${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
} finally {
  if (rule) {
    try {
      deleteRules([rule]);
    } catch (error) {
      console.error(`Could not remove the firewall rule ${rule}; the next deployment removes it: ${error.message ?? error}`);
      process.exitCode = 1;
    }
  }
}
