import type { Kysely, Transaction } from 'kysely';
import type Stripe from 'stripe';
import type { Database } from '../db/schema.js';
import { toPage, type Page } from '../validation/pagination.js';
import { findUserIdByCustomer } from './billingAccountRepository.js';
import { mirrorInvoice, priceOfLine } from './invoiceMirror.js';
import { recordWebhookEvent } from '../webhooks/webhookOutbox.js';
import { findStoredInvoice, listUserInvoices, upsertMirroredInvoice, type StoredInvoiceRow } from './invoiceRepository.js';
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
 * Invoices of customers this API does not know are ignored. Whatever brought the change (a webhook event, in any
 * order, or the daily reconciliation's read), the owner's webhooks hear `invoice.finalized` when the copy leaves
 * draft and `invoice.paid` when it becomes paid, in the transaction of the write: once each, since a change that
 * is already stored writes nothing new.
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
  const write = async (trx: Transaction<Database>) => {
    const before = await trx.selectFrom('invoices').select('status').where('stripe_invoice_id', '=', mirrored.stripe_invoice_id).forUpdate().executeTakeFirst();
    const written = await upsertMirroredInvoice(trx, userId, mirrored, observedAt, options);
    if (written && !options.deleted) await announceInvoiceChange(trx, mirrored.stripe_invoice_id, before?.status ?? null);
    return written;
  };
  const written = deps.db.isTransaction ? await write(deps.db as Transaction<Database>) : await deps.db.transaction().execute(write);
  return written ? 'applied' : 'stale';
}

const FINALIZED_STATUSES: readonly string[] = ['open', 'uncollectible', 'paid', 'void'];

async function announceInvoiceChange(trx: Transaction<Database>, stripeInvoiceId: string, before: string | null): Promise<void> {
  const stored = await findStoredInvoice(trx, stripeInvoiceId);
  if (!stored) return;
  const wasFinal = before !== null && FINALIZED_STATUSES.includes(before);
  if (!wasFinal && FINALIZED_STATUSES.includes(stored.status)) {
    await recordWebhookEvent(trx, stored.user_id, 'invoice.finalized', toInvoiceResponse(stored));
  }
  if (before !== 'paid' && stored.status === 'paid') await recordWebhookEvent(trx, stored.user_id, 'invoice.paid', toInvoiceResponse(stored));
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
