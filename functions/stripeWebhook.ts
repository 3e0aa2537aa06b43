import { defineRoute } from '../shared/http/defineRoute.js';
import { readBodyText } from '../shared/http/requestBody.js';
import { jsonResponse } from '../shared/http/responses.js';
import { STRIPE_SIGNATURE_TOLERANCE_SECONDS, STRIPE_WEBHOOK_MAX_BYTES } from '../shared/billing/stripeWebhookLimits.js';
import { lazily } from '../shared/runtime/lazily.js';
import {
  StripeEventBodySchema,
  StripeSignatureHeaders,
  StripeWebhookAckSchema,
} from '../shared/billing/webhookSchemas.js';

// The service verifies with stripe-node: loaded with the first webhook, not with every function.
const webhookService = lazily(() => import('../shared/billing/stripeWebhookService.js'));

// No `body` schema: the signature covers the raw bytes, so the handler reads the body itself, untouched.
defineRoute({
  operationId: 'receiveStripeWebhook',
  method: 'POST',
  path: '/v1/webhooks/stripe',
  tags: ['Billing'],
  summary: 'Stripe webhook',
  description:
    'For Stripe only: events signed with the endpoint\'s secret (`Stripe-Signature` header, checked on the raw ' +
    `body, its timestamp within ${STRIPE_SIGNATURE_TOLERANCE_SECONDS} s of now either way; a body over ` +
    `${STRIPE_WEBHOOK_MAX_BYTES} bytes is 413 before it is read). A signature that does not match, and a signed ` +
    'body that is not a Stripe event (`[]`, text with a NUL character), are 400 and change nothing. Handles ' +
    '`setup_intent.succeeded` (the card becomes the customer\'s default payment method, and the user is ' +
    'subscribed), `customer.updated` (the default payment method), `customer.subscription.*` (the local copy of ' +
    'subscriptions, read afresh from Stripe) and `invoice.*` (the local copy of invoices); and, from an event ' +
    'destination of thin events signed with STRIPE_EVENTS_WEBHOOK_SECRET, `v1.billing.meter.error_report_triggered` ' +
    '(usage Stripe refused after accepting it goes back to the sync). Repeated and out-of-order deliveries are ' +
    'harmless. 503 while webhooks are not configured here, so that Stripe retries.',
  auth: 'public',
  maxBodyBytes: STRIPE_WEBHOOK_MAX_BYTES,
  responses: { 200: { description: 'Received.', schema: StripeWebhookAckSchema } },
  errors: ['bad_request'],
  openapi: {
    request: {
      headers: StripeSignatureHeaders,
      body: { required: true, content: { 'application/json': { schema: StripeEventBodySchema } } },
    },
  },
  handler: async ({ bodyStream, request, deps }) => {
    const config = deps.config;
    const { handleStripeWebhook } = await webhookService();
    const result = await handleStripeWebhook(
      {
        db: deps.db,
        stripe: await deps.stripe.client(),
        webhookSecret: config.stripe?.webhookSecret,
        eventsWebhookSecret: config.stripe?.eventsWebhookSecret,
        billing: config.billing,
      },
      await readBodyText(bodyStream),
      request.headers.get('stripe-signature'),
    );
    return jsonResponse(200, result);
  },
});
