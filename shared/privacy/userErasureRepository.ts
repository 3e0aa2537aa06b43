import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, UserErasureStep } from '../db/schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/*
 * The reads and writes of erasing a user (DELETE /v1/users/me). Each is idempotent: run again after a crash, it
 * finds its work done or does it again with the same result.
 */

/** The user an Entra identity belongs to, whether or not an erasure has begun (authentication refuses those). */
export function findUserByIdentity(db: Db, issuer: string, subject: string) {
  return db
    .selectFrom('users')
    .select(['id', 'erased_at'])
    .where('external_issuer', '=', issuer)
    .where('external_subject', '=', subject)
    .executeTakeFirst();
}

/** Starts the erasure (or finds the one begun); answers the step reached. */
export async function beginErasure(db: Db, userId: string): Promise<UserErasureStep> {
  await db.insertInto('user_erasures').values({ user_id: userId, step: 'requested' }).onConflict((c) => c.column('user_id').doNothing()).execute();
  const row = await db
    .updateTable('user_erasures')
    .set({ attempts: sql<number>`attempts + 1` })
    .where('user_id', '=', userId)
    .where('completed_at', 'is', null)
    .returning('step')
    .executeTakeFirst();
  return row?.step ?? 'done';
}

export async function recordErasureStep(db: Db, userId: string, step: UserErasureStep): Promise<void> {
  await db
    .updateTable('user_erasures')
    .set({ step, ...(step === 'done' ? { completed_at: sql<Date>`now()` } : {}) })
    .where('user_id', '=', userId)
    .execute();
}

export async function revokeAllKeys(db: Db, userId: string): Promise<number> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Every example of the user marked deleted (processing ones too: the pipelines service's report is refused from
 * now on), with what it kept of the user's own input cleared; usage and status stay. Their jobs go.
 */
export async function markAllExamplesErased(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('examples')
    .set({ deleted_at: sql<Date>`coalesce(deleted_at, now())`, model_configuration: '{}', error: null, idempotency_key: null, idempotency_fingerprint: null })
    .where('user_id', '=', userId)
    .execute();
  await sql`delete from example_job_outbox o using examples e where e.id = o.example_id and e.user_id = ${userId}`.execute(db);
  // Their files stop counting now (the ledger), not at the storage sampler's next listing.
  await sql`
    update stored_objects set stored_until = greatest(stored_from, now())
    where user_id = ${userId} and kind = 'example' and stored_until is null`.execute(db);
}

/**
 * Every session of the user marked deleted (an indexing run in progress loses its claim and removes what it
 * wrote), with its free text cleared: description, the upload's file name, the problems quoted from it. What was
 * measured stays (sizes, counts, times: billing history).
 */
export async function markAllSessionsErased(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set({
      status: 'deleted',
      deleted_at: sql<Date>`coalesce(deleted_at, now())`,
      stored_bytes: 0,
      indexing_etag: null,
      description: null,
      upload_file_name: 'upload',
      original_file_name: null,
      validation_errors: '[]',
    })
    .where('user_id', '=', userId)
    .execute();
}

/** A user's sessions or examples whose files are not known to be gone yet. */
export async function unpurgedOf(db: Db, table: 'sessions' | 'examples', userId: string, limit: number): Promise<string[]> {
  const rows = await db.selectFrom(table).select('id').where('user_id', '=', userId).where('purged_at', 'is', null).limit(limit).execute();
  return rows.map((row) => row.id);
}

/**
 * The last step, in one transaction: what is left of the user that is not accounting goes (A2P tasks and their
 * history, settings), and the user row is anonymised: no name, e-mail, identity or payment method; its id, Stripe
 * customer id and creation time stay, for the invoices and usage that name them.
 */
export async function anonymiseUser(trx: Transaction<Database>, userId: string): Promise<void> {
  await trx.deleteFrom('a2p_tasks').where('user_id', '=', userId).execute();
  await trx.deleteFrom('user_settings').where('user_id', '=', userId).execute();
  // Webhook endpoints (their deliveries go with them), the events (they hold the resources as they were), the
  // budget and its alerts: settings and content, nothing accounting needs.
  await trx.deleteFrom('webhook_endpoints').where('user_id', '=', userId).execute();
  await trx.deleteFrom('webhook_events').where('user_id', '=', userId).execute();
  await trx.deleteFrom('budget_threshold_emissions').where('user_id', '=', userId).execute();
  await trx.deleteFrom('budgets').where('user_id', '=', userId).execute();
  await trx
    .updateTable('users')
    .set({
      display_name: 'Erased user',
      email: null,
      external_issuer: null,
      external_subject: null,
      default_payment_method_id: null,
      erased_at: sql<Date>`coalesce(erased_at, now())`,
    })
    .where('id', '=', userId)
    .execute();
}

/** Rows created after the erasure began (a request authenticated just before): the erasure goes round again. */
export async function hasLiveData(db: Db, userId: string): Promise<boolean> {
  const { rows } = await sql<{ live: boolean }>`
    select exists (select 1 from sessions where user_id = ${userId} and (deleted_at is null or purged_at is null))
        or exists (select 1 from examples where user_id = ${userId} and (deleted_at is null or purged_at is null))
        or exists (select 1 from datasets where user_id = ${userId})
        or exists (select 1 from api_keys where user_id = ${userId} and revoked_at is null) as live`.execute(db);
  return rows[0]?.live === true;
}

export async function findStalledErasures(db: Db, idleMinutes: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('user_erasures')
    .select('user_id')
    .where('completed_at', 'is', null)
    .where('updated_at', '<', sql<Date>`now() - make_interval(mins => ${idleMinutes})`)
    .orderBy('updated_at')
    .limit(limit)
    .execute();
  return rows.map((row) => row.user_id);
}

/** The user's datasets, oldest first (each erased one is gone from the next batch). */
export async function datasetsOf(db: Db, userId: string, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('datasets').select('id').where('user_id', '=', userId).orderBy('created_at').limit(limit).execute();
  return rows.map((row) => row.id);
}

