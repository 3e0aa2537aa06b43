import type { Kysely } from 'kysely';
import { Migrator, NO_MIGRATIONS, type MigrationResultSet, type NoMigrations } from 'kysely';
import { migrations } from '../../migrations/index.js';

/*
 * Runs migrations/ through Kysely's Migrator. On PostgreSQL the Migrator holds a session advisory lock for the
 * whole run and runs the pending migrations in one transaction, so two processes starting at once apply each
 * migration exactly once (the second waits, then finds nothing to do), and a failed run leaves nothing half done.
 * (test/integration/migrations.test.ts starts two at once.)
 */

export { NO_MIGRATIONS };

export interface MigrationStatus {
  name: string;
  /** null while pending. */
  executedAt: Date | null;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    /** The migration that failed, when one did (else the run failed before any migration started). */
    readonly migrationName: string | undefined,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

// Migrations are schema-level and must not depend on the current Database type, hence Kysely<any>; any
// Kysely<Database> can be passed.
type AnyKysely = Kysely<any>;

function migratorFor(db: AnyKysely): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

export function migrationNames(): string[] {
  return Object.keys(migrations).sort();
}

function describeCause(cause: unknown): string {
  if (cause instanceof AggregateError && cause.message === '') {
    // What node-postgres throws when every address of the host refused: the reasons are inside.
    return cause.errors.map(describeCause).join('; ');
  }
  if (cause instanceof Error) return cause.message || cause.name;
  return String(cause);
}

/** The names of the migrations that ran, in the order they ran; or the error, naming the one that failed. */
function namesOrThrow(resultSet: MigrationResultSet): string[] {
  const results = resultSet.results ?? [];
  if (resultSet.error === undefined) return results.map((result) => result.migrationName);
  const failed = results.find((result) => result.status === 'Error');
  const cause = describeCause(resultSet.error);
  if (!failed) {
    throw new MigrationError(`migrations could not run: ${cause}`, undefined, { cause: resultSet.error });
  }
  // Every pending migration of a run shares one transaction, so the ones before it were rolled back too.
  throw new MigrationError(
    `migration ${failed.migrationName} failed (${failed.direction.toLowerCase()}): ${cause}; ` +
      'no migration of this run was applied',
    failed.migrationName,
    { cause: resultSet.error },
  );
}

/** Applies every pending migration; returns the names applied (none when up to date). */
export async function migrateToLatest(db: AnyKysely): Promise<string[]> {
  return namesOrThrow(await migratorFor(db).migrateToLatest());
}

/** Applies the next pending migration, if any. */
export async function migrateUp(db: AnyKysely): Promise<string[]> {
  return namesOrThrow(await migratorFor(db).migrateUp());
}

/** Undoes the last applied migration, if any; returns its name. */
export async function migrateDown(db: AnyKysely): Promise<string[]> {
  return namesOrThrow(await migratorFor(db).migrateDown());
}

/**
 * Moves up or down until `target` is the last applied migration (NO_MIGRATIONS undoes them all); returns the
 * names of the migrations applied or undone, in the order they ran.
 */
export async function migrateTo(db: AnyKysely, target: string | NoMigrations): Promise<string[]> {
  if (typeof target === 'string' && !Object.hasOwn(migrations, target)) {
    throw new MigrationError(`unknown migration ${target}; known: ${migrationNames().join(', ')}`, undefined, {
      cause: undefined,
    });
  }
  return namesOrThrow(await migratorFor(db).migrateTo(target));
}

/** Every known migration in order, with when it was applied. */
export async function migrationStatus(db: AnyKysely): Promise<MigrationStatus[]> {
  try {
    const infos = await migratorFor(db).getMigrations();
    return infos.map(({ name, executedAt }) => ({ name, executedAt: executedAt ?? null }));
  } catch (error) {
    throw new MigrationError(`could not read the migration status: ${describeCause(error)}`, undefined, {
      cause: error,
    });
  }
}
