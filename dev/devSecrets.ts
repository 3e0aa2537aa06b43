import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateApiKeySecret } from '../shared/auth/apiKeySecret.js';

export interface DevSecrets {
  apiKeyHmacSecret: string;
  localApiKey: string;
}

/**
 * Secrets for local development, made once and kept in the data folder so that a second `npm start` on the same
 * data still accepts the same key. Never used when the settings are given.
 */
export function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    if (stored.apiKeyHmacSecret && stored.localApiKey) {
      return { apiKeyHmacSecret: stored.apiKeyHmacSecret, localApiKey: stored.localApiKey };
    }
  }
  const secrets: DevSecrets = {
    apiKeyHmacSecret: randomBytes(32).toString('base64url'),
    localApiKey: generateApiKeySecret(),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  return secrets;
}
