import { sql, type SelectQueryBuilder } from 'kysely';
import { offsetOf, type Pagination } from '../validation/pagination.js';

/**
 * One page of a listing, newest first (`created_at`, then `id` so that rows created together keep one order), and
 * how many rows the whole filtered listing has: both from the same filter, read side by side.
 */
export async function newestFirstPage<DB, TB extends keyof DB, O>(
  filtered: SelectQueryBuilder<DB, TB, object>,
  select: (query: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, O>,
  pagination: Pagination,
  /** The table (or alias) whose `created_at` and `id` order the rows, when the query has more than one. */
  table?: string,
): Promise<{ rows: O[]; total: number }> {
  const column = (name: string) => sql.ref(table === undefined ? name : `${table}.${name}`);
  const [rows, count] = await Promise.all([
    select(filtered)
      .orderBy(column('created_at'), 'desc')
      .orderBy(column('id'), 'desc')
      .limit(pagination.per_page)
      .offset(offsetOf(pagination))
      .execute(),
    filtered.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  // Over a generic table the selection's type does not resolve; the column is the count selected just above.
  return { rows: rows as O[], total: Number((count as { total: number | string }).total) };
}
