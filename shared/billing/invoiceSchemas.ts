import { z } from '../openapi/zod.js';
import { INVOICE_STATUSES } from '../db/schema.js';
import { pageSchema, paginationQuery } from '../validation/pagination.js';

export const DEFAULT_INVOICES_PER_PAGE = 12;

/** `?page=1&per_page=12`: invoices default to a year of months per page. */
export const InvoicesQuery = paginationQuery(DEFAULT_INVOICES_PER_PAGE);

export const InvoiceSchema = z
  .object({
    id: z.uuid(),
    billing_period: z.object({ start: z.iso.datetime(), end: z.iso.datetime() }),
    tokens_consumed: z.number().int().min(0).openapi({ description: 'Tokens billed (the token meter\'s quantity).' }),
    storage_gb_hours: z.number().min(0).openapi({ description: 'GB-hours billed (the storage meter\'s KB-hours / 10^6).' }),
    total_amount: z.number().int().openapi({ description: 'In minor units of the currency (cents for usd), as Stripe bills it.' }),
    currency: z.string().openapi({ example: 'usd' }),
    status: z.enum(INVOICE_STATUSES).openapi({
      description:
        'Stripe\'s status: `draft` until it finalizes (the period\'s usage may still arrive), `open` (due), ' +
        '`uncollectible` (written off by Stripe after its retries; it may still be paid), `paid`, `void`.',
    }),
    paid_at: z.iso.datetime().nullable(),
    stripe_invoice_url: z.string().nullable().openapi({ description: 'Stripe\'s hosted invoice page.' }),
  })
  .openapi('Invoice', {
    example: {
      id: '0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d',
      billing_period: { start: '2026-01-01T00:00:00.000Z', end: '2026-02-01T00:00:00.000Z' },
      tokens_consumed: 1250000,
      storage_gb_hours: 744.5,
      total_amount: 254,
      currency: 'usd',
      status: 'paid',
      paid_at: '2026-02-01T01:12:09.000Z',
      stripe_invoice_url: 'https://invoice.stripe.com/i/acct_123/test_abc',
    },
  });

export const InvoicePageSchema = pageSchema(InvoiceSchema).openapi('InvoicePage');

export type InvoiceResponse = z.infer<typeof InvoiceSchema>;
export type InvoicesQueryInput = z.infer<typeof InvoicesQuery>;
