import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { Database } from '../db/schema.js';
import { toPage, type Page } from '../validation/pagination.js';
import { findUserIdByCustomer } from './billingAccountRepository.js';
import { mirrorInvoice, priceOfLine } from './invoiceMirror.js';
import { listUserInvoices, upsertMirroredInvoice, type StoredInvoiceRow } from './invoiceRepository.js';
import type { InvoiceResponse, InvoicesQueryInput } from './invoiceSchemas.js';
import { resolvePriceKinds, type PriceMeterDeps } from './priceMeters.js';
import { callStripe } from './stripeOutage.js';

/** GET /v1/invoices: the local copy kept from Stripe's webhooks and daily reconciliation; never a call to Stripe. */
export async function listInvoices(
  db: Kysely<Database>,
  userId: string,
  query: InvoicesQueryInput,
): Promise<Page<InvoiceResponse>> {
  const { items, total } = await listUserInvoices(db, userId, query);
  return toPage(items.map(toInvoiceResponse), total, query);
}

/** An invoice as GET /v1/invoices (and the invoice.* webhook events) show it. */
export function toInvoiceResponse(row: Omit<StoredInvoiceRow, 'user_id'>): InvoiceResponse {
  return {
    id: row.id,
    billing_period: { start: row.period_start.toISOString(), end: row.period_end.toISOString() },
    tokens_consumed: row.tokens_consumed,
    storage_gb_hours: Number(row.storage_gb_hours),
    total_amount: row.total_amount,
    currency: row.currency,
    status: row.status,
    paid_at: row.paid_at ? row.paid_at.toISOString() : null,
    stripe_invoice_url: row.stripe_invoice_url,
  };
}

export type InvoiceEffect = 'applied' | 'stale' | 'ignored';

/** Every line: a webhook's invoice carries the first ten or so (`lines.has_more`); the rest are listed. */
async function allLines(deps: PriceMeterDeps, invoice: Stripe.Invoice): Promise<Stripe.InvoiceLineItem[]> {
  const lines = invoice.lines?.data ?? [];
  if (!invoice.lines?.has_more || !invoice.id) return lines;
  const id = invoice.id;
  return callStripe(() => deps.stripe.invoices.listLineItems(id, { limit: 100 }).autoPagingToArray({ limit: 10_000 }));
}

/**
 * Keeps the local copy of one invoice as Stripe has it at `observedAt` (an event's time, or the time of a read).
 * Invoices of customers this API does not know are ignored.
 */
export async function storeInvoice(
  deps: PriceMeterDeps,
  invoice: Stripe.Invoice,
  observedAt: Date,
  options: { deleted?: boolean } = {},
): Promise<InvoiceEffect> {
  if (!invoice.id) return 'ignored';
  const customer = typeof invoice.customer === 'string' ? invoice.customer : invoice.customer?.id;
  const userId = customer ? await findUserIdByCustomer(deps.db, customer) : undefined;
  if (!userId) return 'ignored';
  const lines = await allLines(deps, invoice);
  const kinds = await resolvePriceKinds(deps, lines.map(priceOfLine).filter((price): price is string => price !== null));
  const mirrored = mirrorInvoice(invoice, lines, (price) => kinds.get(price));
  const written = await upsertMirroredInvoice(deps.db, userId, mirrored, observedAt, options);
  return written ? 'applied' : 'stale';
}

/**
 * A new draft of a subscription's period finalizes no sooner than the configured grace after the period ends
 * (`automatically_finalizes_at`, https://docs.stripe.com/invoicing/scheduled-finalization): the period close
 * sends the last hour and any missing usage inside it, and does not depend on the account's Dashboard setting.
 */
export async function holdDraftForGrace(deps: PriceMeterDeps, invoice: Stripe.Invoice, graceMinutes: number, now: Date) {
  if (!invoice.id || invoice.status !== 'draft' || !invoice.parent?.subscription_details) return;
  const periodEnd = Math.max(0, ...(invoice.lines?.data ?? []).map((line) => line.period.end));
  if (periodEnd === 0) return;
  const finalizeAt = periodEnd + graceMinutes * 60;
  if (finalizeAt * 1000 <= now.getTime() || (invoice.automatically_finalizes_at ?? 0) >= finalizeAt) return;
  const id = invoice.id;
  await callStripe(() => deps.stripe.invoices.update(id, { automatically_finalizes_at: finalizeAt }));
}
