import { pathToFileURL } from 'node:url';
import type { Kysely } from 'kysely';
import { createDatabase } from '../shared/db/database.js';
import type { Database } from '../shared/db/schema.js';
import { migrateDown, migrateTo, migrateToLatest, migrateUp, migrationStatus } from '../shared/db/migrator.js';
import { consoleOutput, type CommandOutput } from './commandOutput.js';

/*
 * node dist/scripts/migrate.js [latest|up|down|to <name>|status]   (default: latest), against DATABASE_URL.
 * Exit codes: 0 done, 1 the migration failed, 2 wrong usage or missing setting.
 */

const USAGE = 'usage: migrate [latest|up|down|to <name>|status]';

type MigrateCommand =
  | { kind: 'latest' }
  | { kind: 'up' }
  | { kind: 'down' }
  | { kind: 'status' }
  | { kind: 'to'; target: string };

function parseCommand(argv: readonly string[]): MigrateCommand | undefined {
  const [command = 'latest', ...rest] = argv;
  if (command === 'to') return rest.length === 1 && rest[0] ? { kind: 'to', target: rest[0] } : undefined;
  if (rest.length > 0) return undefined;
  if (command === 'latest' || command === 'up' || command === 'down' || command === 'status') {
    return { kind: command };
  }
  return undefined;
}

type Direction = 'applied' | 'reverted';

async function runMigrations(
  db: Kysely<Database>,
  command: Exclude<MigrateCommand, { kind: 'status' }>,
): Promise<{ direction: Direction; names: string[] }> {
  switch (command.kind) {
    case 'latest':
      return { direction: 'applied' as Direction, names: await migrateToLatest(db) };
    case 'up':
      return { direction: 'applied' as Direction, names: await migrateUp(db) };
    case 'down':
      return { direction: 'reverted' as Direction, names: await migrateDown(db) };
    case 'to': {
      // Going to a migration that is already applied means undoing the ones after it.
      const before = await migrationStatus(db);
      const target = before.find((migration) => migration.name === command.target);
      const direction: Direction = target?.executedAt ? 'reverted' : 'applied';
      return { direction, names: await migrateTo(db, command.target) };
    }
  }
}

/** The whole CLI, minus process wiring: returns the exit code. */
export async function runMigrateCommand(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  out: CommandOutput,
): Promise<number> {
  const command = parseCommand(argv);
  if (!command) {
    out.error(USAGE);
    return 2;
  }
  const connectionString = env.DATABASE_URL;
  if (!connectionString) {
    out.error('DATABASE_URL is not set');
    return 2;
  }
  const db = createDatabase({ connectionString, poolMax: 1 });
  try {
    if (command.kind === 'status') {
      for (const { name, executedAt } of await migrationStatus(db)) {
        out.log(`${name}  ${executedAt ? `applied ${executedAt.toISOString()}` : 'pending'}`);
      }
      return 0;
    }
    const { direction, names } = await runMigrations(db, command);
    if (names.length === 0) out.log('nothing to do');
    for (const name of names) out.log(`${direction} ${name}`);
    return 0;
  } catch (error) {
    out.error(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await db.destroy();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.exitCode = await runMigrateCommand(process.argv.slice(2), process.env, consoleOutput);
}
