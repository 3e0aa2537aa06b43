import type { HttpRequest } from '@azure/functions';
import { getConfig } from '../config.js';
import { getDb } from '../db/index.js';
import { ApiError } from '../errors/apiError.js';
import { findActiveApiKeyByHash } from './apiKeyRepository.js';
import { hashApiKeySecret } from './apiKeySecret.js';

export interface AuthContext {
  userId: string;
  apiKeyId: string;
  scopes: string[];
  /** Suites the key is limited to; null means every suite. */
  suiteIds: string[] | null;
}

// Longer values are not keys; refusing them early keeps hashing cheap for garbage input.
const MAX_KEY_LENGTH = 200;

/**
 * Resolves the caller from `X-API-Key`. Missing, malformed, unknown and revoked keys all get the same 401, so a
 * caller learns nothing about which keys exist.
 */
export async function authenticateRequest(request: HttpRequest): Promise<AuthContext> {
  const secret = request.headers.get('x-api-key')?.trim();
  if (!secret || secret.length > MAX_KEY_LENGTH) throw ApiError.unauthorized();
  const keyHash = hashApiKeySecret(secret, getConfig().apiKeyHmacSecret);
  const key = await findActiveApiKeyByHash(getDb(), keyHash);
  if (!key) throw ApiError.unauthorized();
  return { userId: key.userId, apiKeyId: key.apiKeyId, scopes: key.scopes, suiteIds: key.suiteIds };
}
