import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { SetupIntentSchema } from '../shared/billing/setupIntentSchemas.js';
import { createSetupIntent } from '../shared/billing/setupIntentService.js';

defineRoute({
  operationId: 'createBillingSetupIntent',
  method: 'POST',
  path: '/v1/billing/setup-intent',
  tags: ['Billing'],
  summary: 'Start adding a card (Stripe SetupIntent)',
  description:
    'Creates a Stripe SetupIntent for the user\'s Stripe customer and returns its `client_secret` for Stripe ' +
    'Elements. Once Stripe confirms the card, its webhook makes it the customer\'s default payment method (the ' +
    'one invoices charge), subscribes the user to the metered prices if no subscription runs (the first period ' +
    'runs to the next 1st, 00:00 UTC; a canceled subscription is renewed this way), and API keys can be ' +
    'created. No body. 409 (`details.reason: billing_disabled`) when this deployment does not bill; 503 when ' +
    'Stripe is unavailable.',
  auth: 'apiKey',
  responses: { 201: { description: 'The SetupIntent\'s client secret.', schema: SetupIntentSchema } },
  errors: ['conflict'],
  handler: async ({ auth, deps }) => jsonResponse(201, await createSetupIntent(deps.db, await deps.stripe.client(), auth.userId)),
});
