import { sql, type Kysely } from 'kysely';

/*
 * GET /v1/usage reads the token rows carried out of a month (recorded in it, sent with a timestamp of a later
 * period) by user and time of use; token_usage_carried_idx has them by the timestamp they were carried to. Only
 * carried rows are in it, a few per user, thousands after an outage (issue 23: GET /v1/usage p99).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create index token_usage_carried_recorded_idx on token_usage (user_id, recorded_at)
    where stripe_timestamp is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index token_usage_carried_recorded_idx`.execute(db);
}
