import type { HttpRequest } from '@azure/functions';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { ApiKeyScope } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { hashApiKeySecret, isApiKeyForm } from './apiKeySecret.js';
import { authenticateIdentity, authenticateKeyHash, type CallerProfile, type CountedRequest } from './credentialRepository.js';
import { verifyEntraToken, type EntraIdentity } from './entraTokens.js';
import { RATE_LIMIT_PER_MINUTE, type RateLimitBucket } from './rateLimitBuckets.js';

export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Unix seconds at which the window resets. */
  reset: number;
}

export interface AuthContext {
  userId: string;
  /** The key of the request; null for the storefront's Bearer tokens, which act as the user. */
  apiKeyId: string | null;
  scopes: ApiKeyScope[];
  /** Suites the key is limited to; null means every suite. */
  suiteIds: string[] | null;
  /** The caller's user row when authentication read it along (API keys); absent for tokens and built contexts. */
  user?: CallerProfile;
}

// Longer values are not credentials; refusing them early keeps hashing and parsing cheap for garbage input.
const MAX_CREDENTIAL_LENGTH = 8_192;

type Credential = { kind: 'apiKey'; secret: string } | { kind: 'bearer'; token: string };

/**
 * `X-API-Key: tp_live_...`, or `Authorization: Bearer <token>` where the token is an API key (agents and MCP
 * clients send keys that way) or an Entra External ID token (the storefront). Anything else is no credential.
 */
function credentialOf(request: HttpRequest): Credential | null {
  const apiKey = request.headers.get('x-api-key');
  if (apiKey !== null) return { kind: 'apiKey', secret: apiKey.trim() };
  const authorization = request.headers.get('authorization');
  if (authorization === null || authorization.length > MAX_CREDENTIAL_LENGTH) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) return null;
  return match[1].startsWith('tp_live_') ? { kind: 'apiKey', secret: match[1] } : { kind: 'bearer', token: match[1] };
}

function rateLimitOf(counted: CountedRequest, bucket: RateLimitBucket): RateLimitState {
  const limit = RATE_LIMIT_PER_MINUTE[bucket];
  const state = { limit, remaining: Math.max(0, limit - counted.count), reset: counted.windowEndsAt };
  if (counted.count > limit) {
    const retryAfter = Math.max(1, Math.ceil(counted.windowEndsAt - counted.now));
    throw new ApiError(
      'rate_limited',
      `Rate limit of ${limit} requests per minute exceeded for this key; retry in ${retryAfter} s.`,
      { limit, reset: state.reset },
      { 'Retry-After': String(retryAfter), ...rateLimitHeaders(state) },
    );
  }
  return state;
}

export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(state.limit),
    'X-RateLimit-Remaining': String(state.remaining),
    'X-RateLimit-Reset': String(state.reset),
  };
}

/** A request's caller, and where the request left the caller's rate-limit window (for the response's headers). */
export interface AuthenticatedRequest {
  caller: AuthContext;
  rateLimit: RateLimitState;
}

/** What authentication reads: the credentials' rows, the key hashing secret and the Entra settings. */
export interface AuthDeps {
  db: Kysely<Database>;
  config: Pick<Config, 'apiKeyHmacSecret' | 'entra'>;
}

/**
 * Resolves the caller and counts the request against the bucket's per-minute limit. Missing, malformed, unknown,
 * expired and revoked credentials all get the same 401, so a caller learns nothing about which exist.
 */
export async function authenticateRequest(
  { db, config }: AuthDeps,
  request: HttpRequest,
  bucket: RateLimitBucket,
): Promise<AuthenticatedRequest> {
  const credential = credentialOf(request);
  if (!credential) throw ApiError.unauthorized();
  if (credential.kind === 'apiKey') {
    const { secret } = credential;
    if (!isApiKeyForm(secret)) throw ApiError.unauthorized();
    const key = await authenticateKeyHash(db, hashApiKeySecret(secret, config.apiKeyHmacSecret), bucket);
    if (!key) throw ApiError.unauthorized();
    const rateLimit = rateLimitOf(key, bucket);
    return {
      caller: { userId: key.userId, apiKeyId: key.apiKeyId, scopes: key.scopes, suiteIds: key.suiteIds, user: key.user },
      rateLimit,
    };
  }
  const identity = await verifyEntraToken(credential.token, config.entra);
  const user = await authenticateIdentity(db, identity.issuer, identity.subject, bucket);
  // A valid token of someone who has not registered (POST /v1/users) has no account to act as.
  if (!user) throw ApiError.unauthorized('Unknown user: register with POST /v1/users first.');
  const rateLimit = rateLimitOf(user, bucket);
  return { caller: { userId: user.userId, apiKeyId: null, scopes: user.scopes, suiteIds: null }, rateLimit };
}

/** For POST /v1/users: a verified Entra identity, which need not have an account yet. */
export async function authenticateEntraIdentity(config: Pick<Config, 'entra'>, request: HttpRequest): Promise<EntraIdentity> {
  const credential = credentialOf(request);
  if (credential?.kind !== 'bearer') {
    throw ApiError.unauthorized('An Entra ID token is required (Authorization: Bearer).');
  }
  return verifyEntraToken(credential.token, config.entra);
}
