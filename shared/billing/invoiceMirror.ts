import type Stripe from 'stripe';
import type { Insertable } from 'kysely';
import type { InvoicesTable, InvoiceStatus } from '../db/schema.js';
import type { UsageKind } from './meterEvents.js';
import { KB_PER_GB } from './pricing.js';

/**
 * What the local copy keeps of a Stripe invoice (https://docs.stripe.com/api/invoices/object): its period, totals,
 * the two meters' quantities, status, paid_at and hosted URL. Lines are told apart by the meter their price bills
 * (priceMeters.ts), so a rotated price still counts; the period is that of the metered lines when there are any
 * (an invoice's own period_start/period_end describe something else for subscriptions), else the invoice's.
 * Storage lines count KB-hours.
 */
/**
 * What an invoice's local copy takes from Stripe: the invoices row's own columns (whose it is, and the event that
 * wrote it, are the writer's: ./invoiceRepository.ts).
 */
export type MirroredInvoice = Required<
  Pick<
    Insertable<InvoicesTable>,
    | 'stripe_invoice_id'
    | 'stripe_subscription_id'
    | 'period_start'
    | 'period_end'
    | 'tokens_consumed'
    | 'storage_gb_hours'
    | 'total_amount'
    | 'currency'
    | 'status'
    | 'paid_at'
    | 'stripe_invoice_url'
  >
>;

const STATUSES = new Set<string>(['draft', 'open', 'uncollectible', 'paid', 'void']);

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

function quantityOf(line: Stripe.InvoiceLineItem): number {
  if (typeof line.quantity === 'number') return line.quantity;
  return line.quantity_decimal ? Number(line.quantity_decimal.toString()) : 0;
}

/** The price a line bills, if it bills one. */
export function priceOfLine(line: Stripe.InvoiceLineItem): string | null {
  return idOf(line.pricing?.price_details?.price);
}

export function mirrorInvoice(
  invoice: Stripe.Invoice,
  lines: Stripe.InvoiceLineItem[],
  kindOfPrice: (priceId: string) => UsageKind | undefined,
): MirroredInvoice {
  let tokens = 0;
  let storageKbHours = 0;
  let periodStart = Infinity;
  let periodEnd = -Infinity;
  for (const line of lines) {
    const price = priceOfLine(line);
    const kind = price === null ? undefined : kindOfPrice(price);
    if (!kind) continue;
    if (kind === 'tokens') tokens += quantityOf(line);
    else storageKbHours += quantityOf(line);
    periodStart = Math.min(periodStart, line.period.start);
    periodEnd = Math.max(periodEnd, line.period.end);
  }
  if (!Number.isFinite(periodStart)) {
    periodStart = invoice.period_start;
    periodEnd = invoice.period_end;
  }
  const paidAt = invoice.status_transitions?.paid_at ?? null;
  const status = invoice.status ?? 'draft';
  return {
    stripe_invoice_id: invoice.id as string,
    stripe_subscription_id: idOf(invoice.parent?.subscription_details?.subscription),
    period_start: new Date(periodStart * 1000),
    period_end: new Date(Math.max(periodEnd, periodStart) * 1000),
    tokens_consumed: Math.round(tokens),
    storage_gb_hours: storageKbHours / KB_PER_GB,
    total_amount: invoice.total,
    currency: invoice.currency.toLowerCase(),
    // Stripe may add statuses; an unknown one is still unpaid, the nearest state the API names.
    status: STATUSES.has(status) ? (status as InvoiceStatus) : 'open',
    paid_at: paidAt ? new Date(paidAt * 1000) : null,
    stripe_invoice_url: invoice.hosted_invoice_url ?? null,
  };
}
