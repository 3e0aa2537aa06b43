import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database>;

/*
 * What retention finds: live sessions and examples older than their owner's retention. A user with settings of
 * their own has them (null: keep); a user without follows the configured default. Served by the partial
 * indexes sessions_retention_idx and examples_retention_idx (migration 0010).
 */

export interface RetentionScope {
  now: Date;
  /** The configured defaults, for users without settings of their own (null: keep). */
  defaultSessionDays: number | null;
  defaultExampleDays: number | null;
  /** One user (the preview), or everyone (the run). */
  userId?: string;
}

export interface DueSession {
  id: string;
  user_id: string;
  status: string;
  created_at: Date;
  expires_at: Date;
  stored_bytes: number;
}

export interface DueExample {
  id: string;
  user_id: string;
  session_id: string;
  status: string;
  created_at: Date;
  expires_at: Date;
}

function daysOf(column: 'session_retention_days' | 'example_retention_days', fallback: number | null) {
  return sql<number | null>`case when us.user_id is null then ${fallback}::integer else us.${sql.ref(column)} end`;
}

/**
 * Sessions past retention: indexed (ready), invalid or never uploaded; not while indexing (the indexer holds a
 * claim) and not already deleted or expired. The FROM and WHERE of a query whose rows are `s` (with `d.days`).
 */
function sessionsPastRetention(scope: RetentionScope) {
  return sql`
    from sessions s
    left join user_settings us on us.user_id = s.user_id
    cross join lateral (select ${daysOf('session_retention_days', scope.defaultSessionDays)} as days) d
    where s.deleted_at is null and s.expired_at is null and s.status in ('ready', 'invalid', 'awaiting_upload')
      and d.days is not null and s.created_at + make_interval(days => d.days) <= ${scope.now}
      ${scope.userId ? sql`and s.user_id = ${scope.userId}` : sql``}`;
}

/** Examples past retention, as above (rows `e`); one being processed waits for its result. */
function examplesPastRetention(scope: RetentionScope) {
  return sql`
    from examples e
    left join user_settings us on us.user_id = e.user_id
    cross join lateral (select ${daysOf('example_retention_days', scope.defaultExampleDays)} as days) d
    where e.deleted_at is null and e.status <> 'PROCESSING'
      and d.days is not null and e.created_at + make_interval(days => d.days) <= ${scope.now}
      ${scope.userId ? sql`and e.user_id = ${scope.userId}` : sql``}`;
}

/** The oldest sessions past retention, at most `limit`. */
export async function findSessionsPastRetention(db: Db, scope: RetentionScope, limit: number): Promise<DueSession[]> {
  const { rows } = await sql<DueSession>`
    select s.id, s.user_id, s.status, s.created_at, s.created_at + make_interval(days => d.days) as expires_at,
      s.stored_bytes::bigint as stored_bytes
    ${sessionsPastRetention(scope)}
    order by s.created_at, s.id
    limit ${limit}`.execute(db);
  return rows;
}

export async function findExamplesPastRetention(db: Db, scope: RetentionScope, limit: number): Promise<DueExample[]> {
  const { rows } = await sql<DueExample>`
    select e.id, e.user_id, e.session_id, e.status, e.created_at, e.created_at + make_interval(days => d.days) as expires_at
    ${examplesPastRetention(scope)}
    order by e.created_at, e.id
    limit ${limit}`.execute(db);
  return rows;
}

/** How many of each there are in all (lists are capped), and the session bytes they hold. */
export async function countPastRetention(db: Db, scope: RetentionScope): Promise<{ sessions: number; bytes: number; examples: number }> {
  const { rows } = await sql<{ sessions: number; bytes: number; examples: number }>`
    select
      (select count(*) ${sessionsPastRetention(scope)}) as sessions,
      (select coalesce(sum(s.stored_bytes), 0)::bigint ${sessionsPastRetention(scope)}) as bytes,
      (select count(*) ${examplesPastRetention(scope)}) as examples`.execute(db);
  return rows[0] ?? { sessions: 0, bytes: 0, examples: 0 };
}
