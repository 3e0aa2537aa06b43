import type { AccessToken, TokenCredential } from '@azure/identity';

/**
 * The token scope of Azure Database for PostgreSQL (every server in the public cloud): a Microsoft Entra access
 * token for it is the password of the role named after the principal.
 * https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-connect-with-managed-identity
 */
export const POSTGRES_ENTRA_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/**
 * Take a new token this long before the current one expires. The server checks the token only when a connection
 * logs in (an open connection outlives its token), so the margin only has to cover one login; five minutes is
 * what the Azure SDKs use for their own refresh.
 */
const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

export interface EntraPasswordOptions {
  scope?: string;
  refreshMarginMs?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

/**
 * A password function for node-postgres (`Pool({ password })`): pg calls it whenever it opens a connection
 * (https://node-postgres.com/apis/client, "password ... can also be a function that returns a promise"), and this
 * answers with a Microsoft Entra access token for PostgreSQL from `credential` (in Azure the Function App's managed
 * identity). The token is kept until it nears expiry, so a burst of new connections asks Entra once; if a refresh fails while the kept token is still valid, the kept token is used (the next
 * connection tries again).
 */
export function createEntraPasswordProvider(
  credential: TokenCredential,
  options: EntraPasswordOptions = {},
): () => Promise<string> {
  const scope = options.scope ?? POSTGRES_ENTRA_SCOPE;
  const marginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
  const now = options.now ?? Date.now;
  let current: AccessToken | undefined;
  let inFlight: Promise<AccessToken> | undefined;

  const refreshDue = (token: AccessToken): number =>
    Math.min(token.expiresOnTimestamp - marginMs, token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY);

  const requestToken = async (): Promise<AccessToken> => {
    const token = await credential.getToken(scope);
    if (!token) throw new Error(`Microsoft Entra returned no access token for ${scope} (the PostgreSQL password)`);
    return token;
  };

  return async () => {
    if (current && now() < refreshDue(current)) return current.token;
    // One request for every connection opened meanwhile.
    inFlight ??= requestToken().finally(() => {
      inFlight = undefined;
    });
    try {
      current = await inFlight;
    } catch (error) {
      if (current && now() < current.expiresOnTimestamp) return current.token;
      throw error;
    }
    return current.token;
  };
}
