import type Stripe from 'stripe';
import type { InvoiceStatus } from '../db/schema.js';
import { MB_PER_GB } from './pricing.js';

/**
 * What the local copy keeps of a Stripe invoice (https://docs.stripe.com/api/invoices/object): its period, totals,
 * the two meters' quantities, status, paid_at and hosted URL. The meters' lines are told apart by their price
 * (STRIPE_TOKENS_PRICE_ID, STRIPE_STORAGE_PRICE_ID); the period is that of the metered lines when there are any
 * (an invoice's own period_start/period_end describe something else for subscriptions), else the invoice's.
 */
export interface MirroredInvoice {
  stripeInvoiceId: string;
  customerId: string | null;
  periodStart: Date;
  periodEnd: Date;
  tokensConsumed: number;
  storageGbHours: number;
  totalAmount: number;
  currency: string;
  status: InvoiceStatus;
  paidAt: Date | null;
  url: string | null;
}

const STATUS: Record<string, InvoiceStatus> = {
  draft: 'draft',
  open: 'open',
  paid: 'paid',
  void: 'void',
  // Unpaid, and may still be paid: the contract's nearest state.
  uncollectible: 'open',
};

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

function quantityOf(line: Stripe.InvoiceLineItem): number {
  if (typeof line.quantity === 'number') return line.quantity;
  return line.quantity_decimal ? Number(line.quantity_decimal.toString()) : 0;
}

export function mirrorInvoice(
  invoice: Stripe.Invoice,
  priceIds: { tokens: string | undefined; storage: string | undefined },
): MirroredInvoice {
  let tokens = 0;
  let storageMbHours = 0;
  let periodStart = Infinity;
  let periodEnd = -Infinity;
  for (const line of invoice.lines?.data ?? []) {
    const price = idOf(line.pricing?.price_details?.price);
    const isTokens = price !== null && price === priceIds.tokens;
    const isStorage = price !== null && price === priceIds.storage;
    if (!isTokens && !isStorage) continue;
    if (isTokens) tokens += quantityOf(line);
    else storageMbHours += quantityOf(line);
    periodStart = Math.min(periodStart, line.period.start);
    periodEnd = Math.max(periodEnd, line.period.end);
  }
  if (!Number.isFinite(periodStart)) {
    periodStart = invoice.period_start;
    periodEnd = invoice.period_end;
  }
  const paidAt = invoice.status_transitions?.paid_at ?? null;
  return {
    stripeInvoiceId: invoice.id,
    customerId: idOf(invoice.customer),
    periodStart: new Date(periodStart * 1000),
    periodEnd: new Date(Math.max(periodEnd, periodStart) * 1000),
    tokensConsumed: Math.round(tokens),
    storageGbHours: storageMbHours / MB_PER_GB,
    totalAmount: invoice.total,
    currency: invoice.currency.toLowerCase(),
    status: STATUS[invoice.status ?? 'draft'] ?? 'open',
    paidAt: paidAt ? new Date(paidAt * 1000) : null,
    url: invoice.hosted_invoice_url ?? null,
  };
}
