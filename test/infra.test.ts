import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_SETTING_NAMES, ConfigError, loadConfig, type Config } from '../shared/config.js';
import { EXAMPLE_JOBS_QUEUE, EXAMPLES_CONTAINER, SESSIONS_CONTAINER, UPLOADS_CONTAINER } from '../shared/storage/layout.js';
import { PROJECT_ROOT } from './support/apiProcess.js';

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
    expect(referenced.sort()).toEqual(['api-key-hmac-secret', 'stripe-secret-key', 'stripe-webhook-secret']);
    for (const name of referenced) expect(keyVaultBicep, name).toContain(`'${name}'`);
  });
});

describe('infra storage names and the code', () => {
  const layout = Object.fromEntries(
    [...block(mainBicep, 'storage-layout').matchAll(/^var (\w+) = '([^']*)'$/gm)].map((match) => [match[1], match[2]]),
  );
  const storageModule = mainBicep.slice(mainBicep.indexOf("module storage 'modules/storage.bicep'"), mainBicep.indexOf('module eventGridTopic'));

  it('creates the containers and the queue that shared/storage/layout.ts names', () => {
    expect(layout).toEqual({
      uploadsContainerName: UPLOADS_CONTAINER,
      sessionsContainerName: SESSIONS_CONTAINER,
      examplesContainerName: EXAMPLES_CONTAINER,
      exampleJobsQueueName: EXAMPLE_JOBS_QUEUE,
    });
    expect(storageModule).toMatch(/containerNames: \[\s*uploadsContainerName\s+sessionsContainerName\s+examplesContainerName\s/);
    expect(storageModule).toMatch(/stagingPrefixes: \[\s*'\$\{uploadsContainerName\}\/'\s*\]/);
    expect(storageModule).toMatch(/queueNames: \[\s*exampleJobsQueueName\s*\]/);
    expect(storageModule).toMatch(/retentionPrefixes: \[\s*'\$\{sessionsContainerName\}\/'\s+'\$\{examplesContainerName\}\/'\s*\]/);
  });
});

describe('azure.yaml', () => {
  it('deploys the app as a function and runs hooks that exist', () => {
    const azureYaml = readFileSync(join(PROJECT_ROOT, 'azure.yaml'), 'utf8');
    expect(azureYaml).toMatch(/services:\s+api:\s+project: \.\s+language: ts\s+host: function/);
    const hooks = [...azureYaml.matchAll(/run: node (\S+)/g)].map((match) => match[1] as string);
    expect(hooks.length).toBeGreaterThan(0);
    for (const hook of hooks) expect(existsSync(join(PROJECT_ROOT, hook)), hook).toBe(true);
  });
});
