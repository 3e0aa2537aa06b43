import { sql, type Kysely } from 'kysely';
import type { ApiKeyScope, Database } from '../db/schema.js';

export interface CountedRequest {
  /** Requests of this subject in this bucket's current one-minute window, this one included. */
  count: number;
  /** Unix seconds at which the window ends. */
  windowEndsAt: number;
  /** The database's clock, unix seconds (every instance shares it). */
  now: number;
}

/**
 * The counting step shared by both lookups: a CTE `counted` over the CTE `found` (whose `id` is the subject).
 * The counter is an INSERT ... ON CONFLICT DO UPDATE on one row, which PostgreSQL serialises, so concurrent
 * requests on any number of instances get distinct counts and a limit can never be overshot.
 */
function countInWindow(bucket: string) {
  return sql`counted as (
      insert into rate_limit_counters (subject_id, bucket, window_start, count)
      select id, ${bucket}, date_trunc('minute', now()), 1 from found
      on conflict (subject_id, bucket, window_start)
      do update set count = rate_limit_counters.count + 1
      returning count, window_start
    )`;
}

/**
 * The statement's writes (a counter, last_used_at) are bookkeeping, not business data: committing them without
 * waiting for the WAL flush saves a disk sync per request. On a server crash the last few milliseconds of counts
 * could be lost, which only errs in the caller's favour. set_config(..., true) lasts for this statement's own
 * transaction; the CTE is joined below so that it is evaluated. (PostgreSQL docs, "Asynchronous Commit".)
 */
const asyncCommit = sql`async_commit as (select set_config('synchronous_commit', 'off', true))`;

const windowColumns = sql`counted.count,
  extract(epoch from counted.window_start)::bigint + 60 as window_ends_at,
  extract(epoch from now())::float8 as now`;

export interface AuthenticatedKey extends CountedRequest {
  apiKeyId: string;
  userId: string;
  scopes: ApiKeyScope[];
  suiteIds: string[] | null;
}

/**
 * One round trip per request: finds the active key with this hash, counts the request in the key's rate-limit
 * window, and stamps last_used_at when it is a minute old or more (so at most one write a minute per key).
 * Revoked or unknown keys match nothing and count nothing.
 */
export async function authenticateKeyHash(
  db: Kysely<Database>,
  keyHash: string,
  bucket: string,
): Promise<AuthenticatedKey | undefined> {
  const result = await sql<{
    api_key_id: string;
    user_id: string;
    scopes: ApiKeyScope[];
    suite_ids: string[] | null;
    count: number;
    window_ends_at: number;
    now: number;
  }>`
    with ${asyncCommit}, found as (
      select id, user_id, scopes, suite_ids, last_used_at
      from api_keys
      where key_hash = ${keyHash} and revoked_at is null
    ),
    ${countInWindow(bucket)},
    touched as (
      update api_keys set last_used_at = now()
      where id = (select id from found)
        and (last_used_at is null or last_used_at <= now() - interval '1 minute')
      returning id
    )
    select found.id as api_key_id, found.user_id, found.scopes, found.suite_ids, ${windowColumns}
    from found, counted, async_commit
  `.execute(db);
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    apiKeyId: row.api_key_id,
    userId: row.user_id,
    scopes: row.scopes,
    suiteIds: row.suite_ids,
    count: row.count,
    windowEndsAt: Number(row.window_ends_at),
    now: row.now,
  };
}

export interface AuthenticatedUser extends CountedRequest {
  userId: string;
  scopes: ApiKeyScope[];
}

/** The same for a Bearer request: the user registered under this identity, counted under the user's id. */
export async function authenticateIdentity(
  db: Kysely<Database>,
  issuer: string,
  subject: string,
  bucket: string,
): Promise<AuthenticatedUser | undefined> {
  const result = await sql<{ user_id: string; scopes: ApiKeyScope[]; count: number; window_ends_at: number; now: number }>`
    with ${asyncCommit}, found as (
      select id, scopes from users where external_issuer = ${issuer} and external_subject = ${subject}
        -- an account being erased (DELETE /v1/users/me) acts no more
        and not exists (select 1 from user_erasures e where e.user_id = users.id)
    ),
    ${countInWindow(bucket)}
    select found.id as user_id, found.scopes, ${windowColumns}
    from found, counted, async_commit
  `.execute(db);
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    userId: row.user_id,
    scopes: row.scopes,
    count: row.count,
    windowEndsAt: Number(row.window_ends_at),
    now: row.now,
  };
}

/** Drops windows that ended long ago (the maintenance timer calls this). */
export async function purgeRateLimitWindows(db: Kysely<Database>, olderThanMinutes: number): Promise<number> {
  const result = await db
    .deleteFrom('rate_limit_counters')
    .where('window_start', '<', sql<Date>`now() - make_interval(mins => ${olderThanMinutes})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
