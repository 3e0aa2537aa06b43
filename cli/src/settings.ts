/**
 * Where the CLI finds its API and key, and where it keeps what it writes: TRACEPIPE_API_KEY and
 * TRACEPIPE_BASE_URL win over the config file that `tracepipe login` writes (`$TRACEPIPE_CONFIG`, else
 * `$XDG_CONFIG_HOME/tracepipe/config.json`, else `~/.config/tracepipe/config.json`, mode 0600). Upload records
 * (for resuming) live under `$TRACEPIPE_STATE_DIR`, else `$XDG_STATE_HOME/tracepipe`, else
 * `~/.local/state/tracepipe`.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './cliError.js';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:7071';

export interface StoredConfig {
  api_key?: string;
  base_url?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRACEPIPE_CONFIG) return env.TRACEPIPE_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'tracepipe', 'config.json');
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRACEPIPE_STATE_DIR) return env.TRACEPIPE_STATE_DIR;
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'tracepipe');
}

export function readStoredConfig(path = configPath()): StoredConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    const config = parsed as Record<string, unknown>;
    return {
      ...(typeof config.api_key === 'string' ? { api_key: config.api_key } : {}),
      ...(typeof config.base_url === 'string' ? { base_url: config.base_url } : {}),
    };
  } catch {
    throw CliError.usage(`The config file ${path} is not valid JSON; run \`tracepipe login\` again or delete it.`);
  }
}

export function writeStoredConfig(config: StoredConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  // The key is a secret: readable by its owner only, and never half-written.
  writeFileSync(temporary, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

export interface Settings {
  baseUrl: string;
  apiKey: string | undefined;
}

export function resolveSettings(flags: { baseUrl?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Settings {
  const stored = readStoredConfig(configPath(env));
  const baseUrl = flags.baseUrl ?? (env.TRACEPIPE_BASE_URL || undefined) ?? stored.base_url ?? DEFAULT_BASE_URL;
  try {
    new URL(baseUrl);
  } catch {
    throw CliError.usage(`The base URL ${JSON.stringify(baseUrl)} is not a URL.`);
  }
  return { baseUrl: baseUrl.replace(/\/+$/, ''), apiKey: (env.TRACEPIPE_API_KEY || undefined) ?? stored.api_key };
}
