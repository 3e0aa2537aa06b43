import type { Kysely } from 'kysely';
import { getConfig } from '../config.js';
import { createDatabase } from './database.js';
import type { Database } from './schema.js';

let instance: Kysely<Database> | undefined;

/** The process-wide Kysely instance (one pool per function instance), created on first use. */
export function getDb(): Kysely<Database> {
  if (!instance) {
    const config = getConfig();
    instance = createDatabase({ connectionString: config.database.url, poolMax: config.database.poolMax });
  }
  return instance;
}

export async function closeDb(): Promise<void> {
  const current = instance;
  instance = undefined;
  await current?.destroy();
}
