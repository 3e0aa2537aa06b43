import { sql, type Kysely, type RawBuilder } from 'kysely';

/*
 * The Stripe sync's lists move out of the usage tables' indexes (issue 23: meter events per second, GET /v1/usage).
 *
 * The sync updates every usage row twice (attempted, then sent). While indexes named `stripe_sent_at` (the partial
 * `*_stripe_pending_idx` and `*_user_pending_idx`) or `stripe_timestamp` (`*_carried_idx`, set on a row carried
 * into a later period), no such update could be HOT: each wrote a new entry into every index of the table (5, then
 * 3), most in large indexes keyed by random UUIDs or by user, one leaf page apiece, with a full-page image after
 * each checkpoint. That was about 85% of a sync's time (532 MB of WAL for 100,000 rows).
 *
 * Now each kind has two narrow lists, kept in step with the rows by statement-level triggers whoever writes them
 * (the sync, a resend, a reconciliation, a roll-up's delete), in the same statement:
 * - `<table>_unsent` (id, user, time): the rows not sent and not failed, the sync's work list;
 * - `<table>_carried` (id, user, time, carried_to): the rows carried into another period, for the usage estimate
 *   (by the period carried into, or the time of use) and reconciliation.
 * No index of the usage tables names a column the sync changes, so its updates stay on their page and write no
 * index entry, given room on the page: the tables keep half of each page free (fillfactor 50), the room for one
 * new version of every row on it (the sync updates a page's rows together, since they are written in time
 * order); the old version is pruned before the second update. Pages written before this migration keep their fill.
 * Transition tables cannot go with a column list (CREATE TRIGGER), so the update trigger sees every update and
 * acts only on rows whose list membership, user, time or carried timestamp changed.
 *
 * New usage rows get time-ordered ids (UUID version 7, RFC 9562; PostgreSQL 15 has no uuidv7(), hence the
 * function): the sync reads and updates the newest rows by id, and with random ids each of a batch's thousands of
 * lookups landed on a leaf page of its own in the primary key, mostly not in memory. Now they share a few.
 */

const KINDS = [
  { table: 'token_usage', time: 'recorded_at' },
  { table: 'storage_samples', time: 'hour' },
] as const;

/** A column a list keeps beside id, user and time: its name and type, and its value from a row (`n`, `o` or `r`). */
export interface ListColumn {
  column: string;
  type: string;
  value(row: string): string;
}

export interface List {
  suffix: 'unsent' | 'carried';
  /** Whether a row (`n`, `o` or `r`) belongs in the list. */
  member(row: string): RawBuilder<unknown>;
  /** The list's own columns beside id, user and time. */
  extras: ListColumn[];
}

/** The lists as this migration made them; 0016 gives the carried list of tokens more columns. */
export const LISTS: List[] = [
  { suffix: 'unsent', member: (row) => sql.raw(`(${row}.stripe_sent_at is null and ${row}.stripe_failed_at is null)`), extras: [] },
  {
    suffix: 'carried',
    member: (row) => sql.raw(`(${row}.stripe_timestamp is not null)`),
    extras: [{ column: 'carried_to', type: 'timestamptz', value: (row) => `${row}.stripe_timestamp` }],
  },
];

/** The statements that keep one list of one kind in step with inserts and deletes, and its initial rows. */
function followList(table: string, time: string, list: List) {
  const target = sql.table(`${table}_${list.suffix}`);
  return {
    /** The rows there already, as the insert trigger would have listed them. */
    fill: sql`insert into ${target} (${listColumns(time, list)}) select ${listValues('r', time, list)} from ${sql.table(table)} as r where ${list.member('r')}`,
    insert: sql`insert into ${target} (${listColumns(time, list)}) select ${listValues('r', time, list)} from after_rows as r where ${list.member('r')};`,
    delete: sql`delete from ${target} as q using before_rows as o where q.id = o.id;`,
  };
}

function listColumns(time: string, list: List) {
  return sql.raw(['id', 'user_id', time, ...list.extras.map((extra) => extra.column)].join(', '));
}

function listValues(row: string, time: string, list: List) {
  return sql.raw([...['id', 'user_id', time].map((column) => `${row}.${column}`), ...list.extras.map((extra) => extra.value(row))].join(', '));
}

/**
 * After an update, every list of a kind in one statement: the rows whose membership or keys changed are found by
 * one join of the transition tables (a join per list and step cost the sync's updates more than the updates
 * themselves), then dropped from the lists they left and written into the ones they are in. A list's own columns
 * matter only for its members: the sync's marks change the carried list's state columns (0016) of every row, and
 * the rows not carried must not all go through the steps for that.
 */
function followUpdate(table: string, time: string, lists: List[]) {
  const extrasChanged = lists.flatMap((list) =>
    list.extras.length === 0
      ? []
      : [sql`(${list.member('n')} and (${sql.raw(list.extras.map((extra) => extra.value('n')).join(', '))}) is distinct from (${sql.raw(list.extras.map((extra) => extra.value('o')).join(', '))}))`],
  );
  const steps = lists.flatMap((list) => {
    const target = sql.table(`${table}_${list.suffix}`);
    const flag = sql.raw(`in_${list.suffix}`);
    const keys = ['user_id', time, ...list.extras.map((extra) => extra.column)];
    const updates = keys.map((column) => sql.raw(`${column} = excluded.${column}`));
    // Rows still listed with the same keys (a carry changed only the other list) are left as they are.
    const differ = sql.raw(`(${keys.map((k) => `q.${k}`).join(', ')}) is distinct from (${keys.map((k) => `excluded.${k}`).join(', ')})`);
    return [
      sql`delete from ${target} as q using changed as c where q.id = c.id and not c.${flag}`,
      sql`insert into ${target} as q (${listColumns(time, list)}) select ${listValues('c', time, list)} from changed as c where c.${flag}
        on conflict (id) do update set ${sql.join(updates)} where ${differ}`,
    ];
  });
  const last = steps.pop();
  return sql`
    with changed as (
      select n.*, ${sql.join(lists.map((list) => sql`${list.member('n')} as ${sql.raw(`in_${list.suffix}`)}`))}
      from after_rows as n join before_rows as o using (id)
      where ${sql.join(lists.map((list) => sql`${list.member('n')} is distinct from ${list.member('o')}`), sql` or `)}
        or ${sql.raw([`n.user_id <> o.user_id`, `n.${time} <> o.${time}`].join(' or '))}
        ${sql.join(extrasChanged.map((changed) => sql`or ${changed}`), sql` `)}
    ), ${sql.join(steps.map((step, index) => sql`${sql.raw(`step_${index}`)} as (${step})`))}
    ${last};`;
}

/**
 * The trigger function of a kind (`<table>_lists_follow`), for its three statements: `after_rows` and
 * `before_rows` are the transition tables. Frozen with the migrations that call it (0015, 0016): a change here
 * changes what they create.
 */
export function listsFollowFunction(table: string, time: string, lists: List[]) {
  const statements = lists.map((list) => followList(table, time, list));
  return sql`
      create or replace function ${sql.raw(`${table}_lists_follow`)}() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          ${sql.join(statements.map((s) => s.insert), sql`\n`)}
        elsif tg_op = 'DELETE' then
          ${sql.join(statements.map((s) => s.delete), sql`\n`)}
        else
          ${followUpdate(table, time, lists)}
        end if;
        return null;
      end $$`;
}

export async function up(db: Kysely<any>): Promise<void> {
  // The 48-bit Unix time in milliseconds over a random (version 4) UUID's first six bytes, and the version
  // nibble from 4 to 7 by setting its two low bits (set_bit counts from each byte's least significant bit).
  await sql`
    create function uuid_v7() returns uuid language sql volatile parallel safe as $$
      select encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6),
        52, 1), 53, 1), 'hex')::uuid
    $$`.execute(db);
  for (const { table, time } of KINDS) {
    const source = sql.table(table);
    const at = sql.ref(time);
    await sql`create table ${sql.table(`${table}_unsent`)} (id uuid primary key, user_id uuid not null, ${at} timestamptz not null)`.execute(db);
    await sql`create index ${sql.raw(`${table}_unsent_time_idx`)} on ${sql.table(`${table}_unsent`)} (${at}, id)`.execute(db);
    await sql`create index ${sql.raw(`${table}_unsent_user_idx`)} on ${sql.table(`${table}_unsent`)} (user_id, ${at})`.execute(db);
    await sql`
      create table ${sql.table(`${table}_carried`)} (
        id uuid primary key, user_id uuid not null, ${at} timestamptz not null, carried_to timestamptz not null
      )`.execute(db);
    await sql`create index ${sql.raw(`${table}_carried_to_idx`)} on ${sql.table(`${table}_carried`)} (user_id, carried_to)`.execute(db);
    await sql`create index ${sql.raw(`${table}_carried_time_idx`)} on ${sql.table(`${table}_carried`)} (user_id, ${at})`.execute(db);
    for (const list of LISTS) await followList(table, time, list).fill.execute(db);

    const fn = sql.raw(`${table}_lists_follow`);
    await listsFollowFunction(table, time, LISTS).execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_lists_insert`)} after insert on ${source}
      referencing new table as after_rows for each statement execute function ${fn}()`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_lists_update`)} after update on ${source}
      referencing old table as before_rows new table as after_rows for each statement execute function ${fn}()`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_lists_delete`)} after delete on ${source}
      referencing old table as before_rows for each statement execute function ${fn}()`.execute(db);

    // The previous release's queries stay right without these (they were only its way to the rows); for the
    // minutes until the swap, its sync and usage reads of unsent and carried rows scan by user or time instead.
    await sql`drop index ${sql.raw(`${table}_stripe_pending_idx`)}`.execute(db); // contract: an access path only, not a column or table the previous release reads
    await sql`drop index ${sql.raw(`${table}_user_pending_idx`)}`.execute(db); // contract: as above
    await sql`drop index ${sql.raw(`${table}_carried_idx`)}`.execute(db); // contract: as above
    await sql`alter table ${source} set (fillfactor = 50)`.execute(db);
    await sql`alter table ${source} alter column id set default uuid_v7()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const { table, time } of KINDS) {
    const source = sql.table(table);
    const at = sql.ref(time);
    await sql`alter table ${source} alter column id set default gen_random_uuid()`.execute(db);
    await sql`alter table ${source} reset (fillfactor)`.execute(db);
    await sql`create index ${sql.raw(`${table}_carried_idx`)} on ${source} (user_id, stripe_timestamp) where stripe_timestamp is not null`.execute(db);
    await sql`
      create index ${sql.raw(`${table}_user_pending_idx`)} on ${source} (user_id, ${at})
      where stripe_sent_at is null and stripe_failed_at is null`.execute(db);
    await sql`
      create index ${sql.raw(`${table}_stripe_pending_idx`)} on ${source} (${at}, id)
      where stripe_sent_at is null and stripe_failed_at is null`.execute(db);
    for (const op of ['insert', 'update', 'delete']) {
      await sql`drop trigger ${sql.raw(`${table}_lists_${op}`)} on ${source}`.execute(db);
    }
    await sql`drop function ${sql.raw(`${table}_lists_follow`)}()`.execute(db);
    await sql`drop table ${sql.table(`${table}_carried`)}`.execute(db);
    await sql`drop table ${sql.table(`${table}_unsent`)}`.execute(db);
  }
  await sql`drop function uuid_v7()`.execute(db);
}
