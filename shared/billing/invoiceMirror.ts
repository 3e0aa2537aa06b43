import type Stripe from 'stripe';
import type { InvoiceStatus } from '../db/schema.js';
import type { UsageKind } from './meterEvents.js';
import { KB_PER_GB } from './pricing.js';

/**
 * What the local copy keeps of a Stripe invoice (https://docs.stripe.com/api/invoices/object): its period, totals,
 * the two meters' quantities, status, paid_at and hosted URL. Lines are told apart by the meter their price bills
 * (priceMeters.ts), so a rotated price still counts; the period is that of the metered lines when there are any
 * (an invoice's own period_start/period_end describe something else for subscriptions), else the invoice's.
 * Storage lines count KB-hours.
 */
export interface MirroredInvoice {
  stripeInvoiceId: string;
  customerId: string | null;
  subscriptionId: string | null;
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
    stripeInvoiceId: invoice.id as string,
    customerId: idOf(invoice.customer),
    subscriptionId: idOf(invoice.parent?.subscription_details?.subscription),
    periodStart: new Date(periodStart * 1000),
    periodEnd: new Date(Math.max(periodEnd, periodStart) * 1000),
    tokensConsumed: Math.round(tokens),
    storageGbHours: storageKbHours / KB_PER_GB,
    totalAmount: invoice.total,
    currency: invoice.currency.toLowerCase(),
    // Stripe may add statuses; an unknown one is still unpaid, the nearest state the API names.
    status: STATUSES.has(status) ? (status as InvoiceStatus) : 'open',
    paidAt: paidAt ? new Date(paidAt * 1000) : null,
    url: invoice.hosted_invoice_url ?? null,
  };
}
