import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { offsetOf, type Pagination } from '../http/pagination.js';
import type { MirroredInvoice } from './invoiceMirror.js';

/** draft < open < paid | void: Stripe never moves an invoice back (paid and void are final). */
const RANK = (status: ReturnType<typeof sql.ref>) =>
  sql`case ${status} when 'draft' then 0 when 'open' then 1 else 2 end`;

/**
 * Writes the local copy of an invoice from a webhook event, unless what is stored is newer: a later state
 * (by the rank above), or the same state from a later event. So duplicate and out-of-order deliveries end in the
 * state of the newest event, whatever order they come in.
 */
export async function upsertMirroredInvoice(
  trx: Transaction<Database>,
  userId: string,
  invoice: MirroredInvoice,
  eventAt: Date,
): Promise<boolean> {
  const result = await trx
    .insertInto('invoices')
    .values({
      user_id: userId,
      stripe_invoice_id: invoice.stripeInvoiceId,
      period_start: invoice.periodStart,
      period_end: invoice.periodEnd,
      tokens_consumed: invoice.tokensConsumed,
      storage_gb_hours: invoice.storageGbHours,
      total_amount: invoice.totalAmount,
      currency: invoice.currency,
      status: invoice.status,
      paid_at: invoice.paidAt,
      stripe_invoice_url: invoice.url,
      stripe_event_at: eventAt,
    })
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
        }))
        .where(
          sql<boolean>`${RANK(sql.ref('excluded.status'))} > ${RANK(sql.ref('invoices.status'))}
            or (${RANK(sql.ref('excluded.status'))} = ${RANK(sql.ref('invoices.status'))}
                and excluded.stripe_event_at >= coalesce(invoices.stripe_event_at, '-infinity'))`,
        ),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** A deleted draft is gone in Stripe too (only drafts can be deleted). */
export async function deleteDraftInvoice(trx: Transaction<Database>, stripeInvoiceId: string): Promise<void> {
  await trx.deleteFrom('invoices').where('stripe_invoice_id', '=', stripeInvoiceId).where('status', '=', 'draft').execute();
}

/** A user's invoices, newest period first (ties by id, for a stable order). */
export async function listUserInvoices(db: Kysely<Database>, userId: string, pagination: Pagination) {
  const [items, count] = await Promise.all([
    db
      .selectFrom('invoices')
      .select([
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
      ])
      .where('user_id', '=', userId)
      .orderBy('period_start', 'desc')
      .orderBy('id', 'desc')
      .limit(pagination.per_page)
      .offset(offsetOf(pagination))
      .execute(),
    db
      .selectFrom('invoices')
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow(),
  ]);
  return { items, total: Number(count.total) };
}
