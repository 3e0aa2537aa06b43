import { createHmac, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'tp_live_sk_';

/**
 * The form of every key this API accepts, whoever made it (generated keys are the prefix and 43 characters; the
 * local developer's may be set with TRACEPIPE_DEV_API_KEY): authentication refuses anything else before a lookup,
 * and `npm start` and the seed refuse a setting of another form, with these words.
 */
const API_KEY_PATTERN = /^tp_live_sk_[A-Za-z0-9_-]{32,189}$/;
export const API_KEY_FORM = `${API_KEY_PREFIX} followed by 32 to 189 characters of A-Z, a-z, 0-9, _ and -`;

export function isApiKeyForm(secret: string): boolean {
  return API_KEY_PATTERN.test(secret);
}

/** A new secret: 32 random bytes, base64url, behind the public prefix. */
export function generateApiKeySecret(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Keys are stored only as HMAC-SHA-256 under a server secret: a leaked table cannot be used, nor brute-forced
 * offline without the server secret. Lookups go by this hash, so it must be deterministic.
 */
export function hashApiKeySecret(secret: string, serverSecret: string): string {
  return createHmac('sha256', serverSecret).update(secret, 'utf8').digest('hex');
}

/** The masked form shown in lists (`tp_live_sk_a1b2...o5p6`): never enough of the secret to matter. */
export function maskApiKeySecret(secret: string): string {
  const body = secret.startsWith(API_KEY_PREFIX) ? secret.slice(API_KEY_PREFIX.length) : secret;
  return `${API_KEY_PREFIX}${body.slice(0, 4)}...${body.slice(-4)}`;
}
