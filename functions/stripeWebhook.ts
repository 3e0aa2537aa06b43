import { getConfig } from '../shared/config.js';
import { getDb } from '../shared/db/index.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { getStripe } from '../shared/billing/stripeClient.js';
import { handleStripeWebhook } from '../shared/billing/stripeWebhookService.js';
import {
  StripeEventBodySchema,
  StripeSignatureHeaders,
  StripeWebhookAckSchema,
} from '../shared/billing/webhookSchemas.js';

// No `body` schema: the signature covers the raw bytes, so the handler reads the body itself, untouched.
defineRoute({
  operationId: 'receiveStripeWebhook',
  method: 'POST',
  path: '/v1/webhooks/stripe',
  tags: ['Billing'],
  summary: 'Stripe webhook',
  description:
    'For Stripe only: events signed with the endpoint\'s secret (`Stripe-Signature` header, checked on the raw ' +
    'body; 400 and no change if it does not match). Handles `setup_intent.succeeded` (the card becomes the ' +
    'customer\'s default payment method, and the user is subscribed), `customer.updated` (the default payment ' +
    'method), `customer.subscription.*` (the local copy of subscriptions, read afresh from Stripe) and ' +
    '`invoice.*` (the local copy of invoices); and, from an event destination of thin events signed with ' +
    'STRIPE_EVENTS_WEBHOOK_SECRET, `v1.billing.meter.error_report_triggered` (usage Stripe refused after ' +
    'accepting it goes back to the sync). Repeated and out-of-order deliveries are harmless. 503 while webhooks ' +
    'are not configured here, so that Stripe retries.',
  auth: 'public',
  responses: { 200: { description: 'Received.', schema: StripeWebhookAckSchema } },
  errors: ['bad_request'],
  openapi: {
    request: {
      headers: StripeSignatureHeaders,
      body: { required: true, content: { 'application/json': { schema: StripeEventBodySchema } } },
    },
  },
  handler: async ({ request }) => {
    const config = getConfig();
    const result = await handleStripeWebhook(
      {
        db: getDb(),
        stripe: getStripe(),
        webhookSecret: config.stripe?.webhookSecret,
        eventsWebhookSecret: config.stripe?.eventsWebhookSecret,
        billing: config.billing,
      },
      await request.text(),
      request.headers.get('stripe-signature'),
    );
    return jsonResponse(200, result);
  },
});
