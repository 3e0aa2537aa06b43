import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export async function findUserById(db: Kysely<Database>, userId: string) {
  return db
    .selectFrom('users')
    .select(['id', 'display_name', 'email', 'created_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
}

export interface NewIdentityUser {
  issuer: string;
  subject: string;
  displayName: string;
  email: string | null;
}

/**
 * The user registered under this identity, created if missing. One INSERT ... ON CONFLICT statement, so any
 * number of concurrent registrations of one identity end with one row; `created` tells which call made it.
 * The conflict branch writes nothing that changes, only so that RETURNING yields the existing row.
 */
export async function upsertUserByIdentity(db: Kysely<Database>, user: NewIdentityUser) {
  return db
    .insertInto('users')
    .values({
      external_issuer: user.issuer,
      external_subject: user.subject,
      display_name: user.displayName,
      email: user.email,
    })
    .onConflict((conflict) =>
      conflict
        .columns(['external_issuer', 'external_subject'])
        .doUpdateSet({ external_subject: (eb) => eb.ref('excluded.external_subject') }),
    )
    .returning(['id', 'display_name', 'email', 'created_at', 'stripe_customer_id', sql<boolean>`xmax = 0`.as('created')])
    .executeTakeFirstOrThrow();
}
