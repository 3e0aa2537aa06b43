import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { toPage, type Page } from '../http/pagination.js';
import { listUserInvoices } from './invoiceRepository.js';
import type { InvoiceResponse, InvoicesQueryInput } from './invoiceSchemas.js';

/** GET /v1/invoices: the local copy kept from Stripe's webhooks; never a call to Stripe. */
export async function listInvoices(
  db: Kysely<Database>,
  userId: string,
  query: InvoicesQueryInput,
): Promise<Page<InvoiceResponse>> {
  const { items, total } = await listUserInvoices(db, userId, query);
  return toPage(
    items.map((row) => ({
      id: row.id,
      billing_period: { start: row.period_start.toISOString(), end: row.period_end.toISOString() },
      tokens_consumed: row.tokens_consumed,
      storage_gb_hours: Number(row.storage_gb_hours),
      total_amount: row.total_amount,
      currency: row.currency,
      status: row.status,
      paid_at: row.paid_at ? row.paid_at.toISOString() : null,
      stripe_invoice_url: row.stripe_invoice_url,
    })),
    total,
    query,
  );
}
