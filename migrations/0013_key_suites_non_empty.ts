import { sql, type Kysely } from 'kysely';

/*
 * An API key's suite restriction is null (every suite) or a non-empty list (issue 20). The API never wrote an
 * empty list (POST /v1/api-keys asks for at least one id), but nothing refused one, and the code read it two ways:
 * the sessions and usage queries as "limited to no suite" (it saw nothing), the examples queries as `in ()`, which
 * PostgreSQL rejects (a 500). The check makes the one reading the only one possible.
 *
 * An existing empty list meant "limited to no suite": a key that could read nothing and create nothing. Such a key
 * is revoked here (its next request is 401, as a key that can do nothing should be told), and its restriction is
 * kept as the nil UUID, which is never a suite id, so that the row still says "no suite" and never reads as
 * "every suite" (null). down() only drops the check: which rows were empty is not kept.
 *
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update api_keys
    set suite_ids = array['00000000-0000-0000-0000-000000000000']::uuid[], revoked_at = coalesce(revoked_at, now())
    where cardinality(suite_ids) = 0`.execute(db);
  await sql`
    alter table api_keys
      add constraint api_keys_suite_ids_non_empty check (suite_ids is null or cardinality(suite_ids) > 0)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys drop constraint api_keys_suite_ids_non_empty`.execute(db);
}
