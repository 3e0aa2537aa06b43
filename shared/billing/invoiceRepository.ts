import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { offsetOf, type Pagination } from '../validation/pagination.js';
import type { MirroredInvoice } from './invoiceMirror.js';

/**
 * draft < open < uncollectible < paid | void: Stripe never moves an invoice back (an uncollectible invoice may
 * still be paid or voided; paid and void are final; https://docs.stripe.com/invoicing/overview#invoice-statuses).
 */
const RANK = (status: ReturnType<typeof sql.ref>) =>
  sql`case ${status} when 'draft' then 0 when 'open' then 1 when 'uncollectible' then 2 else 3 end`;

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Writes the local copy of an invoice from a webhook event (or a read from Stripe's list), unless what is stored
 * is newer: a later state (by the rank above), or the same state from a later event. So duplicate and
 * out-of-order deliveries end in the state of the newest event, whatever order they come in. `deleted` (from
 * invoice.deleted, which only drafts get) writes a tombstone: the row stays, hidden, and nothing revives it, so an
 * invoice.created delivered after the deletion leaves no phantom draft.
 */
export async function upsertMirroredInvoice(
  trx: Db,
  userId: string,
  invoice: MirroredInvoice,
  eventAt: Date,
  options: { deleted?: boolean } = {},
): Promise<boolean> {
  const deletedAt = options.deleted ? eventAt : null;
  const result = await trx
    .insertInto('invoices')
    .values({ ...invoice, user_id: userId, deleted_at: deletedAt, stripe_event_at: eventAt })
    .onConflict((conflict) =>
      conflict
        .column('stripe_invoice_id')
        .doUpdateSet((eb) => ({
          period_start: eb.ref('excluded.period_start'),
          period_end: eb.ref('excluded.period_end'),
          tokens_consumed: eb.ref('excluded.tokens_consumed'),
          storage_gb_hours: eb.ref('excluded.storage_gb_hours'),
          total_amount: eb.ref('excluded.total_amount'),
          currency: eb.ref('excluded.currency'),
          status: eb.ref('excluded.status'),
          paid_at: eb.ref('excluded.paid_at'),
          stripe_invoice_url: eb.ref('excluded.stripe_invoice_url'),
          stripe_event_at: eb.ref('excluded.stripe_event_at'),
          stripe_subscription_id: sql<string | null>`coalesce(excluded.stripe_subscription_id, invoices.stripe_subscription_id)`,
          deleted_at: sql<Date | null>`coalesce(invoices.deleted_at, excluded.deleted_at)`,
        }))
        .where(
          sql<boolean>`excluded.deleted_at is not null or (invoices.deleted_at is null and (
            ${RANK(sql.ref('excluded.status'))} > ${RANK(sql.ref('invoices.status'))}
            or (${RANK(sql.ref('excluded.status'))} = ${RANK(sql.ref('invoices.status'))}
                and excluded.stripe_event_at >= coalesce(invoices.stripe_event_at, '-infinity'))))`,
        ),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Invoices Stripe may still change (not paid or void), for the reconciliation to read again. */
export async function unsettledInvoiceIds(db: Db, createdBefore: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('invoices')
    .select('stripe_invoice_id')
    .where('deleted_at', 'is', null)
    .where('status', 'in', ['draft', 'open', 'uncollectible'])
    .where('created_at', '<', createdBefore)
    .execute();
  return rows.map((row) => row.stripe_invoice_id);
}

/** Stripe no longer has the invoice (a deleted draft): a tombstone. */
export async function markInvoiceDeleted(db: Db, stripeInvoiceId: string, at: Date): Promise<void> {
  await db.updateTable('invoices').set({ deleted_at: at }).where('stripe_invoice_id', '=', stripeInvoiceId).where('deleted_at', 'is', null).execute();
}

const INVOICE_COLUMNS = [
  'id',
  'period_start',
  'period_end',
  'tokens_consumed',
  'storage_gb_hours',
  'total_amount',
  'currency',
  'status',
  'paid_at',
  'stripe_invoice_url',
] as const;

/** The local copy of one Stripe invoice (not deleted), with its owner. */
export async function findStoredInvoice(db: Db, stripeInvoiceId: string) {
  return db
    .selectFrom('invoices')
    .select([...INVOICE_COLUMNS, 'user_id'])
    .where('stripe_invoice_id', '=', stripeInvoiceId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export type StoredInvoiceRow = NonNullable<Awaited<ReturnType<typeof findStoredInvoice>>>;

/** A user's invoices, newest period first (ties by id, for a stable order). */
export async function listUserInvoices(db: Kysely<Database>, userId: string, pagination: Pagination) {
  const [items, count] = await Promise.all([
    db
      .selectFrom('invoices')
      .select(INVOICE_COLUMNS)
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .orderBy('period_start', 'desc')
      .orderBy('id', 'desc')
      .limit(pagination.per_page)
      .offset(offsetOf(pagination))
      .execute(),
    db
      .selectFrom('invoices')
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
  ]);
  return { items, total: Number(count.total) };
}
