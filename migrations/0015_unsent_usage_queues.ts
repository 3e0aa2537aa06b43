import { sql, type Kysely } from 'kysely';

/*
 * The Stripe sync's work list moves out of the usage tables (issue 23: meter events per second).
 *
 * The sync updates every usage row twice (attempted, then sent). While the partial indexes `*_stripe_pending_idx`
 * and `*_user_pending_idx` had `stripe_sent_at` in their predicate, no such update could be HOT: each wrote a new
 * entry into every index of the table (5, then 3), most of them in large indexes keyed by random UUIDs or by user,
 * one leaf page apiece, with a full-page image after each checkpoint. That was about 85% of a sync's time.
 *
 * Now the unsent, not failed rows are listed in a narrow table per kind (`token_usage_unsent`,
 * `storage_samples_unsent`: id, user and time), which statement-level triggers keep in step with the row's state,
 * whoever writes it (the sync, a resend, a reconciliation, a roll-up's delete), in the same statement. No index
 * of the usage tables names a column the sync changes, so its updates stay on their page and write no index entry,
 * given room on the page: the tables keep half of each page free (fillfactor 50), the room for one new version of
 * every row on it (the sync updates a page's rows together, since they are written in time order); the old
 * version is pruned before the second update. Pages written before this migration keep their old fill.
 * Transition tables cannot go with a column list (CREATE TRIGGER), so the update trigger sees every update and
 * acts only on rows whose state, user or time changed.
 *
 * New usage rows get time-ordered ids (UUID version 7, RFC 9562; PostgreSQL 15 has no uuidv7(), hence the
 * function): the sync reads and updates the newest rows by id, and with random ids each of a batch's thousands of
 * lookups landed on a leaf page of its own in the primary key, mostly not in memory. Now they share a few.
 */

const KINDS = [
  { table: 'token_usage', time: 'recorded_at' },
  { table: 'storage_samples', time: 'hour' },
] as const;

const UNSENT = (row: string) => sql.raw(`${row}.stripe_sent_at is null and ${row}.stripe_failed_at is null`);

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
    const queue = sql.table(`${table}_unsent`);
    const at = sql.ref(time);
    const fn = sql.raw(`${table}_unsent_follow`);
    await sql`
      create table ${queue} (
        id uuid primary key,
        user_id uuid not null,
        ${at} timestamptz not null
      )`.execute(db);
    await sql`create index ${sql.raw(`${table}_unsent_time_idx`)} on ${queue} (${at}, id)`.execute(db);
    await sql`create index ${sql.raw(`${table}_unsent_user_idx`)} on ${queue} (user_id, ${at})`.execute(db);
    await sql`
      insert into ${queue} (id, user_id, ${at})
      select id, user_id, ${at} from ${source} as r where ${UNSENT('r')}`.execute(db);

    // One function per kind, for the three statements; `after_rows` and `before_rows` are the transition tables.
    await sql`
      create function ${fn}() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          insert into ${queue} (id, user_id, ${at})
          select id, user_id, ${at} from after_rows as r where ${UNSENT('r')};
        elsif tg_op = 'DELETE' then
          delete from ${queue} as q using before_rows as o where q.id = o.id;
        else
          delete from ${queue} as q
          using after_rows as n join before_rows as o using (id)
          where q.id = n.id
            and ((${UNSENT('n')}) is distinct from (${UNSENT('o')}) or n.user_id <> o.user_id or n.${at} <> o.${at});
          insert into ${queue} (id, user_id, ${at})
          select n.id, n.user_id, n.${at}
          from after_rows as n join before_rows as o using (id)
          where ${UNSENT('n')}
            and (not (${UNSENT('o')}) or n.user_id <> o.user_id or n.${at} <> o.${at})
          on conflict (id) do nothing;
        end if;
        return null;
      end $$`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_unsent_insert`)} after insert on ${source}
      referencing new table as after_rows for each statement execute function ${fn}()`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_unsent_update`)} after update on ${source}
      referencing old table as before_rows new table as after_rows for each statement execute function ${fn}()`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_unsent_delete`)} after delete on ${source}
      referencing old table as before_rows for each statement execute function ${fn}()`.execute(db);

    // The previous release's queries stay right without these two (they were only its way to the rows); for the
    // minutes until the swap, its sync and usage reads of unsent rows scan by user or time instead.
    await sql`drop index ${sql.raw(`${table}_stripe_pending_idx`)}`.execute(db); // contract: an access path only, not a column or table the previous release reads
    await sql`drop index ${sql.raw(`${table}_user_pending_idx`)}`.execute(db); // contract: as above
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
    await sql`
      create index ${sql.raw(`${table}_user_pending_idx`)} on ${source} (user_id, ${at})
      where stripe_sent_at is null and stripe_failed_at is null`.execute(db);
    await sql`
      create index ${sql.raw(`${table}_stripe_pending_idx`)} on ${source} (${at}, id)
      where stripe_sent_at is null and stripe_failed_at is null`.execute(db);
    for (const op of ['insert', 'update', 'delete']) {
      await sql`drop trigger ${sql.raw(`${table}_unsent_${op}`)} on ${source}`.execute(db);
    }
    await sql`drop function ${sql.raw(`${table}_unsent_follow`)}()`.execute(db);
    await sql`drop table ${sql.table(`${table}_unsent`)}`.execute(db);
  }
  await sql`drop function uuid_v7()`.execute(db);
}
