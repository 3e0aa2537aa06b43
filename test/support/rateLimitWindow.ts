import pg from 'pg';

/**
 * Rate-limit counters are per calendar minute of the database's clock: a burst that must fit one window starts
 * early in one, waiting for the next minute if this one is past its 40th second.
 */
export async function waitForFreshWindow(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ s: number }>('select extract(second from now())::float8 as s');
  const second = rows[0]?.s ?? 0;
  if (second > 40) await new Promise((resolve) => setTimeout(resolve, (60 - second + 0.5) * 1000));
}
