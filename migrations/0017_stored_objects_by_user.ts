import { sql, type Kysely } from 'kysely';

/*
 * A user's stored objects as GET /v1/usage reads them: the ones stored now (their bytes, for the figure "stored
 * now" and the hours not sampled yet) and the ones that ended after an instant (the hours not sampled yet, a
 * recent past). stored_objects keeps every object ever stored, deletions included, as the history that storage is
 * billed from; its only per-user index, (user_id, stored_from), made both reads walk all of a user's history: 5 ms
 * of PostgreSQL's CPU a request for a user with 50,000 objects, 1,000 of them stored now, and growing with every
 * session and example. Each index covers one of the two, so a read costs what is stored now and what ended since.
 *
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index stored_objects_user_stored_idx on stored_objects (user_id) include (bytes, stored_from) where stored_until is null`.execute(db);
  await sql`create index stored_objects_user_ended_idx on stored_objects (user_id, stored_until) where stored_until is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index stored_objects_user_ended_idx`.execute(db);
  await sql`drop index stored_objects_user_stored_idx`.execute(db);
}
