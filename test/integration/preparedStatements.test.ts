import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, executeCompiledPrepared } from '../../shared/db/database.js';
import { useTestDatabase } from '../support/database.js';

/*
 * executeCompiledPrepared (shared/db/database.ts): the statement is prepared once per connection and runs on its
 * generic plan, never planned again, its values bound as literals with the same results as the extended protocol's
 * parameters, and the connection goes back to the pool with PostgreSQL's default plan choice.
 * One connection in the pool, so that pg_prepared_statements and the setting read here are that connection's.
 */

describe('prepared statements on their generic plan', () => {
  const database = useTestDatabase();
  let db: ReturnType<typeof createDatabase>;

  beforeAll(() => {
    db = createDatabase({ connectionString: database.testDatabase().url, poolMax: 1 });
  });
  afterAll(async () => {
    await db.destroy();
  });

  const planCacheMode = async () =>
    (await sql<{ mode: string }>`select current_setting('plan_cache_mode') as mode`.execute(db)).rows[0]?.mode;

  it('plans a range query once, generically, and leaves the connection as it was', async () => {
    const since = (days: number) => sql<{ n: number }>`select count(*)::int as n from users where created_at >= ${new Date(Date.now() - days * 86_400_000)}`;
    const counts: number[] = [];
    // Past the five custom plans after which PostgreSQL would compare costs of its own accord.
    for (let days = 1; days <= 7; days++) {
      const [row] = await executeCompiledPrepared<{ n: number }>(db, 'probe', since(days).compile(db));
      counts.push(row?.n ?? -1);
    }
    expect(counts.every((n) => n >= 0)).toBe(true);
    const { rows } = await sql<{ generic_plans: number; custom_plans: number }>`
      select generic_plans::int, custom_plans::int from pg_prepared_statements where name like 'probe_%'`.execute(db);
    expect(rows).toEqual([{ generic_plans: 7, custom_plans: 0 }]);
    expect(await planCacheMode()).toBe('auto');
  });

  it("runs without JIT, and leaves the connection's jit setting as it was", async () => {
    const setting = async () => (await sql<{ jit: string }>`select current_setting('jit') as jit`.execute(db)).rows[0]?.jit;
    const before = await setting();
    const [row] = await executeCompiledPrepared<{ jit: string }>(db, 'probe_jit', sql<{ jit: string }>`select current_setting(${'jit'}) as jit`.compile(db));
    expect(row).toEqual({ jit: 'off' });
    expect(await setting()).toBe(before);
  });

  it('resets the setting after a statement that fails, and the connection serves the next one', async () => {
    const failing = sql`select 1 / ${0}::int as n`.compile(db);
    await expect(executeCompiledPrepared(db, 'probe_failing', failing)).rejects.toThrow(/division by zero/);
    expect(await planCacheMode()).toBe('auto');
    const [row] = await executeCompiledPrepared<{ n: number }>(db, 'probe_after', sql<{ n: number }>`select ${41}::int + 1 as n`.compile(db));
    expect(row).toEqual({ n: 42 });
  });

  it('binds strings, numbers, booleans, dates, arrays and nulls as the extended protocol does', async () => {
    const dates = [new Date('2026-01-31T23:59:59.123Z'), new Date('1999-12-31T00:00:00Z')];
    const query = sql`
      select ${"it's a \\ \"test\""}::text as text, ${"o'clock"}::text as quote_only, ${'C:\\dir'}::text as backslash_only,
        ${'plain text'}::text as plain, ${42}::int as n, ${12345678901}::bigint as big, ${true} and ${false} as flag,
        ${dates[0]}::timestamptz as at, ${dates}::timestamptz[] as ats, ${['a,b', 'c"d', null]}::text[] as texts,
        ${null}::uuid as nothing, ${'3f1b1e2a-8d0c-4e57-9d65-0c1a5a2f7e11'} = ${'3f1b1e2a-8d0c-4e57-9d65-0c1a5a2f7e11'}::uuid as same`.compile(db);
    const [literal] = await executeCompiledPrepared<Record<string, unknown>>(db, 'probe_values', query);
    const extended = (await db.executeQuery(query)).rows[0];
    expect(literal).toEqual(extended);
    expect(literal).toEqual({
      text: 'it\'s a \\ "test"',
      quote_only: "o'clock",
      backslash_only: 'C:\\dir',
      plain: 'plain text',
      n: 42,
      big: 12345678901,
      flag: false,
      at: dates[0],
      ats: dates,
      texts: ['a,b', 'c"d', null],
      nothing: null,
      same: true,
    });
  });

  it('prepares again after a statement that could not be prepared', async () => {
    await expect(executeCompiledPrepared(db, 'probe_broken', sql`select from where ${1}`.compile(db))).rejects.toThrow(/syntax error/);
    const [row] = await executeCompiledPrepared<{ n: number }>(db, 'probe_broken', sql<{ n: number }>`select ${7}::int as n`.compile(db));
    expect(row).toEqual({ n: 7 });
  });

  it('groups by hashing when asked, in the cached generic plan, and leaves enable_sort as it was', async () => {
    // A range over a parameter: the generic plan estimates a few rows (0.5% of the table) and, by itself, sorts them.
    await sql`create table probe_rows as select n % 3 as k, n as v from generate_series(1, 10000) n`.execute(db);
    await sql`analyze probe_rows`.execute(db);
    const grouped = sql`select k, count(*)::int as c from probe_rows where v >= ${1} and v <= ${1000} group by k`.compile(db);
    const planOf = async (prefix: string, hashGrouping: boolean) => {
      const rows = await executeCompiledPrepared<{ k: number; c: number }>(db, prefix, grouped, { hashGrouping });
      expect(rows.map((row) => row.c).sort()).toEqual([333, 333, 334]);
      const [statement] = (await sql<{ name: string }>`select name from pg_prepared_statements where name like ${`${prefix}_%`}`.execute(db)).rows;
      // The plan the statement runs on: its cached generic one.
      await sql`set plan_cache_mode = force_generic_plan`.execute(db);
      const { rows: plan } = await sql<{ 'QUERY PLAN': string }>`explain execute ${sql.id(statement?.name ?? '')}(1, 1000)`.execute(db);
      await sql`reset plan_cache_mode`.execute(db);
      return plan.map((line) => line['QUERY PLAN']).join('\n');
    };
    expect(await planOf('probe_sorted', false)).toMatch(/GroupAggregate[\s\S]*Sort/);
    const hashed = await planOf('probe_hashed', true);
    expect(hashed).toMatch(/HashAggregate/);
    expect(hashed).not.toMatch(/Sort/);
    const { rows } = await sql<{ setting: string }>`select current_setting('enable_sort') as setting`.execute(db);
    expect(rows).toEqual([{ setting: 'on' }]);
  });
});
