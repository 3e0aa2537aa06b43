import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, UserSettingsTable } from '../db/schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export function findUserSettings(db: Db, userId: string) {
  return db.selectFrom('user_settings').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

export type UserSettingsRow = NonNullable<Awaited<ReturnType<typeof findUserSettings>>>;

/** Writes the user's settings whole (the service merges a change into what is in force first). */
export function upsertUserSettings(db: Db, values: Insertable<UserSettingsTable>) {
  const { user_id: _userId, ...changes } = values;
  return db
    .insertInto('user_settings')
    .values(values)
    .onConflict((conflict) => conflict.column('user_id').doUpdateSet(changes))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A new user's settings: the defaults in force when they registered (nothing if they have some already). */
export async function insertDefaultUserSettings(db: Db, values: Insertable<UserSettingsTable>): Promise<void> {
  await db.insertInto('user_settings').values(values).onConflict((conflict) => conflict.column('user_id').doNothing()).execute();
}
