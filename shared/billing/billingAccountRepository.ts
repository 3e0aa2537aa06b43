import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export async function findBillingAccount(db: Db, userId: string) {
  return db
    .selectFrom('users')
    .select(['id', 'display_name', 'email', 'stripe_customer_id', 'default_payment_method_id'])
    .where('id', '=', userId)
    .executeTakeFirst();
}

/** Stores the customer unless another request stored one first; answers the customer the user ends up with. */
export async function storeStripeCustomerId(db: Db, userId: string, customerId: string): Promise<string> {
  const updated = await db
    .updateTable('users')
    .set({ stripe_customer_id: customerId })
    .where('id', '=', userId)
    .where('stripe_customer_id', 'is', null)
    .returning('stripe_customer_id')
    .executeTakeFirst();
  if (updated?.stripe_customer_id) return updated.stripe_customer_id;
  const stored = await findBillingAccount(db, userId);
  return stored?.stripe_customer_id ?? customerId;
}

/** The user of a Stripe customer, locked for the rest of the transaction (webhook handlers serialize on it). */
export async function lockUserByCustomer(trx: Transaction<Database>, customerId: string) {
  return trx
    .selectFrom('users')
    .select(['id', 'stripe_customer_id', 'default_payment_method_id', 'payment_method_event_at'])
    .where('stripe_customer_id', '=', customerId)
    .forUpdate()
    .executeTakeFirst();
}

export async function findUserIdByCustomer(db: Db, customerId: string): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('id').where('stripe_customer_id', '=', customerId).executeTakeFirst();
  return row?.id;
}

/** The customer's default payment method as a Stripe event of `eventAt` says (null: none). */
export async function setDefaultPaymentMethod(
  trx: Transaction<Database>,
  userId: string,
  paymentMethodId: string | null,
  eventAt: Date,
): Promise<void> {
  await trx
    .updateTable('users')
    .set({ default_payment_method_id: paymentMethodId, payment_method_event_at: eventAt })
    .where('id', '=', userId)
    .execute();
}

