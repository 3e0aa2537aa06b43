import { sql, type RawBuilder } from 'kysely';

/**
 * The token rows GET /v1/usage places one by one (usageRepository.ts, tokenExceptions), summed where summing
 * changes nothing: the estimate (usageService.ts, allocate) uses a settled row (sent, failed, or attempted, so
 * its event time is decided) only through its amount, its resolution and state, its carried-to time, and which of
 * the month's periods (or none) its own time falls in. Rows alike in all of these are one row here, with their
 * amounts summed and the earliest time among them, which falls in the same period. Unsettled rows (never tried)
 * stay one by one: where they go depends on their exact time. A heavy user's month of carried rows (thousands
 * after a period close) thus travels as a handful of rows instead of as every row. Token amounts only: storage's
 * meter value is rounded per hour, so its hours cannot be summed first.
 */
export function rollUpTokenExceptions(exceptions: RawBuilder<unknown>, boundaries: Date[]): RawBuilder<unknown> {
  const edges = boundaries.map((edge) => edge.toISOString());
  return sql`
    with e as (${exceptions})
    select min(occurred_at) as occurred_at, sum(amount)::bigint as amount, carried_to, sent, failed, attempted, resolution
    from e
    where sent or failed or attempted
    group by (select count(*) from unnest(${edges}::timestamptz[]) as b(edge) where b.edge <= e.occurred_at),
             carried_to, sent, failed, attempted, resolution
    union all
    select occurred_at, amount, carried_to, sent, failed, attempted, resolution
    from e
    where not (sent or failed or attempted)`;
}
