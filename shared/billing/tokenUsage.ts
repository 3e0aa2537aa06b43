import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

export interface TokenUsageRecord {
  userId: string;
  exampleId: string;
  suiteId: string;
  modelId: string;
  inputTokens: number;
  outputTokens: number;
  /** Defaults to the database's now(). */
  recordedAt?: Date;
}

/**
 * Records the tokens one example consumed, once: a repeated call for the same example changes nothing and answers
 * false. Call it inside the transaction that completes the example, so usage and status commit together.
 *
 * The monthly figures of GET /v1/usage come from token_usage_daily, which triggers on token_usage keep up to date
 * in this same transaction (migrations/0005_billing_metering.ts); the Stripe sync later sends the row as a meter
 * event. Inserting into token_usage directly works too, but this is the one place the shape is spelled out.
 */
export async function recordTokenUsage(
  trx: Transaction<Database> | Kysely<Database>,
  usage: TokenUsageRecord,
): Promise<boolean> {
  const inserted = await trx
    .insertInto('token_usage')
    .values({
      user_id: usage.userId,
      example_id: usage.exampleId,
      suite_id: usage.suiteId,
      model_id: usage.modelId,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      ...(usage.recordedAt ? { recorded_at: usage.recordedAt } : {}),
    })
    .onConflict((conflict) => conflict.column('example_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}
