import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, executeCompiledPrepared } from '../../shared/db/database.js';
import { useTestDatabase } from '../support/database.js';

/*
 * executeCompiledPrepared (shared/db/database.ts): the statement is prepared once per connection and runs on its
 * generic plan, never planned again, and the connection goes back to the pool with PostgreSQL's default plan choice.
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

  it('resets the setting after a statement that fails, and the connection serves the next one', async () => {
    const failing = sql`select 1 / ${0}::int as n`.compile(db);
    await expect(executeCompiledPrepared(db, 'probe_failing', failing)).rejects.toThrow(/division by zero/);
    expect(await planCacheMode()).toBe('auto');
    const [row] = await executeCompiledPrepared<{ n: number }>(db, 'probe_after', sql<{ n: number }>`select ${41}::int + 1 as n`.compile(db));
    expect(row).toEqual({ n: 42 });
  });
});
