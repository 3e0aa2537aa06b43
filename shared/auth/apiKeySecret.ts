import { createHmac, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'tp_live_sk_';

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
