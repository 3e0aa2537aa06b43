import type { createRemoteJWKSet, JWTPayload } from 'jose';
import type { Config } from '../config.js';
import { ApiError } from '../errors/apiError.js';
import { lazily } from '../runtime/lazily.js';

// Only Bearer requests of the storefront verify tokens: JOSE loads with the first one (shared/runtime/lazily.ts).
const jose = lazily(() => import('jose'));

export interface EntraIdentity {
  issuer: string;
  /** The object id (`oid`), stable per user across apps; `sub` when a token has no oid. */
  subject: string;
  name: string | undefined;
  email: string | undefined;
}

type EntraSettings = NonNullable<Config['entra']>;

// Asymmetric algorithms only: `none` and HMAC (`HS*`, which a public JWKS would make forgeable) are refused.
const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384'];

let keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The issuer's JWKS URL from its OpenID discovery document, unless configured. */
async function jwksUrlOf(settings: EntraSettings): Promise<string> {
  if (settings.jwksUrl) return settings.jwksUrl;
  const discovery = `${settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(discovery, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw ApiError.unavailable('The identity provider did not answer; retry later.');
  const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: string };
  if (!jwksUri) throw ApiError.unavailable('The identity provider published no signing keys.');
  return jwksUri;
}

async function keySetFor(settings: EntraSettings): Promise<ReturnType<typeof createRemoteJWKSet>> {
  const cached = keySets.get(settings.issuer);
  if (cached) return cached;
  // createRemoteJWKSet caches the keys and refetches on an unknown `kid` (key rotation), with a cooldown.
  const keySet = (await jose()).createRemoteJWKSet(new URL(await jwksUrlOf(settings)), { timeoutDuration: 5_000 });
  keySets.set(settings.issuer, keySet);
  return keySet;
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) {
    if (typeof value === 'string' && value.trim()) return value.trim();
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  }
  return undefined;
}

/**
 * Verifies a Microsoft Entra External ID token: signature against the issuer's JWKS, issuer, audience and expiry.
 * Every way a token can be wrong is the same 401; only an unreachable identity provider is a 503.
 */
export async function verifyEntraToken(token: string, settings: EntraSettings | null): Promise<EntraIdentity> {
  if (!settings) throw ApiError.unauthorized();
  const { errors: joseErrors, jwtVerify } = await jose();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await keySetFor(settings), {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: ALLOWED_ALGORITHMS,
      clockTolerance: 60,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWKSTimeout) throw ApiError.unavailable('The identity provider did not answer.');
    if (error instanceof joseErrors.JOSEError) throw ApiError.unauthorized();
    throw error;
  }
  const subject = firstString(payload.oid, payload.sub);
  if (!subject || !payload.iss) throw ApiError.unauthorized();
  return {
    issuer: payload.iss,
    subject,
    name: firstString(payload.name),
    email: firstString(payload.email, payload.emails, payload.preferred_username),
  };
}
