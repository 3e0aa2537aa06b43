import { sql, type Kysely } from 'kysely';
import { executePrepared, type PreparedStatement } from '../db/database.js';
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
 * The counting step shared by both lookups: a CTE `counted` over the CTE `found` (whose `id` is the subject), the
 * bucket being parameter $2. The counter is an INSERT ... ON CONFLICT DO UPDATE on one row, which PostgreSQL
 * serialises, so concurrent requests on any number of instances get distinct counts and a limit can never be
 * overshot.
 */
const COUNT_IN_WINDOW = `counted as (
      insert into rate_limit_counters (subject_id, bucket, window_start, count)
      select id, $2, date_trunc('minute', now()), 1 from found
      on conflict (subject_id, bucket, window_start)
      do update set count = rate_limit_counters.count + 1
      returning count, window_start
    )`;

/**
 * The statement's writes (a counter, last_used_at) are bookkeeping, not business data: committing them without
 * waiting for the WAL flush saves a disk sync per request. On a server crash the last few milliseconds of counts
 * could be lost, which only errs in the caller's favour. set_config(..., true) lasts for this statement's own
 * transaction; the CTE is joined below so that it is evaluated. (PostgreSQL docs, "Asynchronous Commit".)
 */
const ASYNC_COMMIT = `async_commit as (select set_config('synchronous_commit', 'off', true))`;

const WINDOW_COLUMNS = `counted.count,
  extract(epoch from counted.window_start)::bigint + 60 as window_ends_at,
  extract(epoch from now())::float8 as now`;

/** The caller's own user row, read in the same statement (GET /v1/users/me needs nothing more). */
export interface CallerProfile {
  id: string;
  display_name: string;
  email: string | null;
  created_at: Date;
}

export interface AuthenticatedKey extends CountedRequest {
  apiKeyId: string;
  userId: string;
  scopes: ApiKeyScope[];
  suiteIds: string[] | null;
  user: CallerProfile;
}

/*
 * Both statements run on every authenticated request, so they are prepared (shared/db/database.ts,
 * executePrepared): planning these CTEs cost several times their execution.
 */
const AUTHENTICATE_KEY: PreparedStatement = {
  name: 'tracepipe_authenticate_key',
  text: `
    with ${ASYNC_COMMIT}, found as (
      select k.id, k.user_id, k.scopes, k.suite_ids, k.last_used_at, u.display_name, u.email, u.created_at
      from api_keys k join users u on u.id = k.user_id
      where k.key_hash = $1 and k.revoked_at is null
    ),
    ${COUNT_IN_WINDOW},
    touched as (
      update api_keys set last_used_at = now()
      where id = (select id from found)
        and (last_used_at is null or last_used_at <= now() - interval '1 minute')
      returning id
    )
    select found.id as api_key_id, found.user_id, found.scopes, found.suite_ids, found.display_name, found.email,
           found.created_at, ${WINDOW_COLUMNS}
    from found, counted, async_commit`,
};

/**
 * One round trip per request: finds the active key with this hash and its user, counts the request in the key's
 * rate-limit window, and stamps last_used_at when it is a minute old or more (so at most one write a minute per
 * key). Revoked or unknown keys match nothing and count nothing. The user's row comes along (a primary-key join
 * inside the statement) so that a handler that only needs the caller reads no more: the request's own query rides
 * on the authentication round trip, and revocation and the count stay exact, per request.
 */
export async function authenticateKeyHash(
  db: Kysely<Database>,
  keyHash: string,
  bucket: string,
): Promise<AuthenticatedKey | undefined> {
  const [row] = await executePrepared<{
    api_key_id: string;
    user_id: string;
    scopes: ApiKeyScope[];
    suite_ids: string[] | null;
    display_name: string;
    email: string | null;
    created_at: Date;
    count: number;
    window_ends_at: number;
    now: number;
  }>(db, AUTHENTICATE_KEY, [keyHash, bucket]);
  if (!row) return undefined;
  return {
    apiKeyId: row.api_key_id,
    userId: row.user_id,
    scopes: row.scopes,
    suiteIds: row.suite_ids,
    user: { id: row.user_id, display_name: row.display_name, email: row.email, created_at: row.created_at },
    count: row.count,
    windowEndsAt: Number(row.window_ends_at),
    now: row.now,
  };
}

export interface AuthenticatedUser extends CountedRequest {
  userId: string;
  scopes: ApiKeyScope[];
}

// $1 subject, $2 bucket (COUNT_IN_WINDOW's), $3 issuer.
const AUTHENTICATE_IDENTITY: PreparedStatement = {
  name: 'tracepipe_authenticate_identity',
  text: `
    with ${ASYNC_COMMIT}, found as (
      select id, scopes from users where external_issuer = $3 and external_subject = $1
        -- an account being erased (DELETE /v1/users/me) acts no more
        and not exists (select 1 from user_erasures e where e.user_id = users.id)
    ),
    ${COUNT_IN_WINDOW}
    select found.id as user_id, found.scopes, ${WINDOW_COLUMNS}
    from found, counted, async_commit`,
};

/** The same for a Bearer request: the user registered under this identity, counted under the user's id. */
export async function authenticateIdentity(
  db: Kysely<Database>,
  issuer: string,
  subject: string,
  bucket: string,
): Promise<AuthenticatedUser | undefined> {
  const [row] = await executePrepared<{ user_id: string; scopes: ApiKeyScope[]; count: number; window_ends_at: number; now: number }>(
    db,
    AUTHENTICATE_IDENTITY,
    [subject, bucket, issuer],
  );
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
