import { sql, type Expression, type RawBuilder } from 'kysely';

/**
 * Bytes of a user's dataset files, for storage metering: the sizes the builder measured when each dataset became
 * ready (building and failed datasets keep no files). `userId` is an SQL expression, so that the figure fits in the
 * metering queries' own per-user subqueries.
 */
export function datasetBytesOf(userId: Expression<string>): RawBuilder<number> {
  return sql<number>`coalesce((select sum(d.train_bytes + d.validation_bytes) from datasets d
    where d.user_id = ${userId} and d.status = 'ready'), 0)::bigint`;
}
