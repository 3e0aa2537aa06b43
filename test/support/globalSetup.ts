import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../dev/embedded/azurite.js';
import { generateApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import { PROJECT_ROOT, spawnApi } from './apiProcess.js';
import { startStorefrontPage } from './storefront.js';
import { createTestDatabase } from './database.js';
import { startFakeEntra } from './fakeEntra.js';
import type { JWK } from 'jose';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    apiKey: string;
    apiKeyHmacSecret: string;
    databaseUrl: string;
    storageConnectionString: string;
    entra: { issuer: string; audience: string; jwksUrl: string; privateJwk: JWK };
    /** The storefront stand-in's page server (test/support/storefront.ts): its origin is allowed by CORS. */
    storefront: { origin: string; port: number };
  }
}

/**
 * One API for the integration tests, as clients meet it: built, started with `node dist/dev/start.js` against a
 * database of its own on the real PostgreSQL and an in-memory Azurite, called over HTTP.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The local host serves the compiled app (as Azure does), so the tests always run against a fresh build; an
  // incremental one (tsc -b and the functions bundle, as npm's prepare and prestart), which does nothing when the
  // sources have not changed.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, ['scripts/pruneStaleOutputs.mjs'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, ['dist/scripts/bundleFunctions.js'], { cwd: PROJECT_ROOT, stdio: 'inherit' });

  const database = await createTestDatabase();
  const azurite = await startAzurite();
  const entra = await startFakeEntra();
  const storefront = await startStorefrontPage();
  const apiKey = generateApiKeySecret();
  const apiKeyHmacSecret = generateApiKeySecret();
  const api = await spawnApi({
    env: {
      DATABASE_URL: database.url,
      DATABASE_POOL_MAX: database.kind === 'pglite' ? '1' : '10',
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      API_KEY_HMAC_SECRET: apiKeyHmacSecret,
      TRACEPIPE_DEV_API_KEY: apiKey,
      TRACEPIPE_ENV: 'test',
      ENTRA_ISSUER: entra.issuer,
      ENTRA_AUDIENCE: entra.audience,
      ENTRA_JWKS_URL: entra.jwksUrl,
      CORS_ALLOWED_ORIGINS: storefront.origin,
    },
  });

  project.provide('apiUrl', api.url);
  project.provide('storefront', { origin: storefront.origin, port: storefront.port });
  project.provide('apiKey', apiKey);
  project.provide('apiKeyHmacSecret', apiKeyHmacSecret);
  project.provide('databaseUrl', database.url);
  project.provide('storageConnectionString', azurite.connectionString);
  project.provide('entra', {
    issuer: entra.issuer,
    audience: entra.audience,
    jwksUrl: entra.jwksUrl,
    privateJwk: entra.privateJwk,
  });

  return async () => {
    const code = await api.stop();
    if (code !== 0) console.error(`The API exited with code ${code}:\n${api.output()}`);
    await azurite.stop();
    await entra.close();
    await storefront.close();
    await database.drop();
  };
}
