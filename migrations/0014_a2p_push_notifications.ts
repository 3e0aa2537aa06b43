import { sql, type Kysely } from 'kysely';

/*
 * A2P push notifications (issue 21): a task's push-notification config is a webhook endpoint of its own, so that
 * its deliveries go through the same outbox, deliverer, signature, address policy, retries and disabling as every
 * webhook. `a2p_task_id` and `a2p_config_id` name the task and the config id the client chose (or we gave); such
 * endpoints are not listed by /v1/webhook-endpoints, and go with their task.
 * Migrations take Kysely<any> on purpose (https://kysely.dev/docs/migrations).
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table webhook_endpoints
      add column a2p_task_id uuid references a2p_tasks (id) on delete cascade,
      add column a2p_config_id text,
      add constraint webhook_endpoints_a2p_push_named check ((a2p_task_id is null) = (a2p_config_id is null)),
      add constraint webhook_endpoints_a2p_config_id_length check (a2p_config_id is null or length(a2p_config_id) between 1 and 200)`.execute(db);
  await sql`
    create unique index webhook_endpoints_a2p_config_idx on webhook_endpoints (a2p_task_id, a2p_config_id)
    where a2p_task_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index webhook_endpoints_a2p_config_idx`.execute(db);
  await sql`
    alter table webhook_endpoints
      drop constraint webhook_endpoints_a2p_config_id_length,
      drop constraint webhook_endpoints_a2p_push_named,
      drop column a2p_config_id,
      drop column a2p_task_id`.execute(db);
}
