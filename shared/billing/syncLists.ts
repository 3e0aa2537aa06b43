import { sql } from 'kysely';

/**
 * The Stripe sync's lists beside the usage tables (migration 0015), kept by triggers: `<table>_unsent`, the rows
 * not sent and not failed, and `<table>_carried`, the rows carried into another period with the timestamp they are
 * sent with. Reading them instead of filtering the usage tables keeps those tables free of indexes on what the sync
 * changes. The carried list of tokens also keeps each row's suite, tokens and sync state (0016), so the usage
 * estimate reads carried rows from it alone (usageRepository.tokenExceptions).
 */
export type UsageTable = 'token_usage' | 'storage_samples';

/** The ids of a user's rows carried to a timestamp in [from, to): billed there, whatever their own time. */
export function carriedInto(table: UsageTable, userId: string, from: Date, to: Date) {
  return sql`
    select id from ${sql.table(`${table}_carried`)} where user_id = ${userId} and carried_to >= ${from} and carried_to < ${to}`;
}
