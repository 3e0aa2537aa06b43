import { describe, expect, inject, it } from 'vitest';
import { runToExit } from '../support/apiProcess.js';

/*
 * The azd hooks as azd runs them (node <hook>, the azd environment as environment variables), for what can run
 * here: the predeploy hook refuses, before it changes anything, to deploy without what the database step needs,
 * and the postdeploy smoke test passes against a running API. (The database step itself: releaseDatabase.test.ts.)
 */

const provisioned = {
  AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
  AZURE_RESOURCE_GROUP: 'rg-tracepipe-test',
  POSTGRES_SERVER_NAME: 'psql-test',
  POSTGRES_HOST: 'psql-test.postgres.database.azure.com',
  POSTGRES_DATABASE: 'tracepipe',
  POSTGRES_APP_ROLE: 'func-tracepipe-test',
  AZURE_FUNCTION_APP_PRINCIPAL_ID: '11111111-1111-1111-1111-111111111111',
};

describe('the predeploy hook', () => {
  it('fails the deployment, naming what is missing, when no PostgreSQL administrator is set (a CI principal by default)', async () => {
    const run = await runToExit({ script: 'infra/hooks/predeploy.mjs', env: provisioned, timeoutMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/The database step failed; nothing is deployed\./);
    expect(run.output).toMatch(/POSTGRES_ADMIN_NAME is not in the azd environment: .*azd env set POSTGRES_ADMIN_NAME/);
    expect(run.output).not.toMatch(/firewall/i); // it stopped before touching anything
  });

  it('fails when provisioning has not run', async () => {
    const run = await runToExit({ script: 'infra/hooks/predeploy.mjs', env: {}, timeoutMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/AZURE_SUBSCRIPTION_ID is not in the azd environment: run azd provision first/);
  });
});

describe('the postdeploy smoke test', () => {
  it('passes when the deployed API answers its health check', async () => {
    const run = await runToExit({ script: 'infra/hooks/postdeploy.mjs', env: { SERVICE_API_URI: inject('apiUrl') }, timeoutMs: 60_000 });
    expect(run.output).toMatch(/Smoke test: .*\/v1\/health answered 200/);
    expect(run.code).toBe(0);
  });

  it('fails without the API\'s address', async () => {
    const run = await runToExit({ script: 'infra/hooks/postdeploy.mjs', env: {}, timeoutMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/SERVICE_API_URI is not in the azd environment/);
  });
});
