import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a running `npm start` can be reached, written into the data folder so that development commands
 * (`npm run pipeline:complete`) find the API, its key and its storage without being told. Local only: it holds
 * the local key and the Azurite connection string, like the rest of the git-ignored data folder.
 */
export interface LocalHostInfo {
  url: string;
  apiKey: string;
  storageConnectionString: string;
}

const FILE = 'local-host.json';

export function writeLocalHostInfo(dataDir: string, info: LocalHostInfo): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, FILE), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
}

export function removeLocalHostInfo(dataDir: string): void {
  rmSync(join(dataDir, FILE), { force: true });
}

export function readLocalHostInfo(dataDir: string): LocalHostInfo | undefined {
  const path = join(dataDir, FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as LocalHostInfo) : undefined;
}
