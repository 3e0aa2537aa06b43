import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { InvoicePageSchema, InvoicesQuery } from '../shared/billing/invoiceSchemas.js';
import { listInvoices } from '../shared/billing/invoiceService.js';

defineRoute({
  operationId: 'listInvoices',
  method: 'GET',
  path: '/v1/invoices',
  tags: ['Billing'],
  summary: 'List invoices',
  description:
    'The user\'s invoices from the local copy kept from Stripe\'s webhooks (and read back from Stripe daily, for ' +
    'whatever the webhooks missed), newest billing period first, 12 per page by default. Quantities are those of ' +
    'the token and storage meters; amounts are in minor units (cents for usd). A deleted draft is not listed.',
  auth: 'apiKey',
  query: InvoicesQuery,
  responses: { 200: { description: 'A page of invoices.', schema: InvoicePageSchema } },
  handler: async ({ auth, query, deps }) => jsonResponse(200, await listInvoices(deps.db, auth.userId, query)),
});
