import { sql, type Kysely } from 'kysely';
import { LISTS, listsFollowFunction, type List, type ListColumn } from './0015_usage_sync_lists.js';

/*
 * The carried list of token usage keeps what the usage estimate reads of a carried row (issue 23, GET /v1/usage).
 *
 * A month after an outage, or the first days of any month, a heavy user has thousands of rows carried into it. The
 * estimate found them through `token_usage_carried` and then fetched each from token_usage by id: one primary-key
 * descent and one heap page per row. With the row's suite, tokens and sync state beside it in the list, the
 * estimate reads the list alone: for the heaviest bench user (2,344 rows carried into the month), the usage query
 * ran in 4.7 ms instead of 11.3 (EXPLAIN ANALYZE, generic plan, timing off).
 *
 * The same trigger function keeps the new columns, rewritten with the list's new columns: the sync's marks on a
 * carried row (attempted, then sent) now also rewrite its list row. Rows not carried are not touched for that
 * (a list's own columns matter only for its members: see followUpdate in 0015).
 */

const STATE: ListColumn[] = [
  { column: 'suite_id', type: 'uuid', value: (row) => `${row}.suite_id` },
  { column: 'amount', type: 'bigint', value: (row) => `(${row}.input_tokens + ${row}.output_tokens)::bigint` },
  { column: 'sent', type: 'boolean', value: (row) => `(${row}.stripe_sent_at is not null)` },
  { column: 'failed', type: 'boolean', value: (row) => `(${row}.stripe_failed_at is not null)` },
  { column: 'attempted', type: 'boolean', value: (row) => `(${row}.stripe_attempted_at is not null)` },
  { column: 'resolution', type: 'text', value: (row) => `${row}.stripe_resolution` },
];

const TOKEN_LISTS: List[] = LISTS.map((list) => (list.suffix === 'carried' ? { ...list, extras: [...list.extras, ...STATE] } : list));

export async function up(db: Kysely<any>): Promise<void> {
  for (const { column, type } of STATE) {
    // Nullable, as added; the trigger writes every one of them (and the previous release never writes the list).
    await sql`alter table token_usage_carried add column ${sql.ref(column)} ${sql.raw(type)}`.execute(db);
  }
  await sql`
    update token_usage_carried as c set ${sql.join(STATE.map(({ column, value }) => sql`${sql.ref(column)} = ${sql.raw(value('r'))}`))}
    from token_usage as r where r.id = c.id`.execute(db);
  await listsFollowFunction('token_usage', 'recorded_at', TOKEN_LISTS).execute(db);
  // Each of its rows is now rewritten by the sync's marks: room on its page keeps those updates HOT (no index
  // names a state column).
  await sql`alter table token_usage_carried set (fillfactor = 70)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table token_usage_carried reset (fillfactor)`.execute(db);
  await listsFollowFunction('token_usage', 'recorded_at', LISTS).execute(db);
  for (const { column } of STATE) await sql`alter table token_usage_carried drop column ${sql.ref(column)}`.execute(db);
}
