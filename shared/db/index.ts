import type { TokenCredential } from '@azure/identity';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { createDatabase } from './database.js';
import { lazily } from '../runtime/lazily.js';
import { createEntraPasswordProvider } from './entraPassword.js';
import type { Database } from './schema.js';

/**
 * The Function App's managed identity, with @azure/identity loaded at the first token asked for (the first
 * connection), not when the functions entry loads (shared/runtime/lazily.ts).
 */
function managedIdentity(): TokenCredential {
  const credential = lazily(async (): Promise<TokenCredential> => new (await import('@azure/identity')).ManagedIdentityCredential());
  return { getToken: async (scopes, options) => (await credential()).getToken(scopes, options) };
}

/**
 * The database the configuration describes. With DATABASE_AUTH=entra every new connection logs in with a
 * Microsoft Entra access token of `credential`: by default the Function App's managed identity
 * (ManagedIdentityCredential, nothing else: see shared/storage/clients.ts); the deployment's hook passes the
 * deploying principal's `azd`/`az` sign-in instead.
 */
export function createDatabaseFromConfig(
  database: Config['database'],
  credential: () => TokenCredential = managedIdentity,
): Kysely<Database> {
  return createDatabase({
    connectionString: database.url,
    poolMax: database.poolMax,
    ...(database.auth === 'entra' ? { password: createEntraPasswordProvider(credential()) } : {}),
  });
}
