import Stripe from 'stripe';
import { ApiError } from '../errors/apiError.js';
import { freeFormProblem } from '../validation/freeFormObject.js';
import { unstorableTextFields } from '../validation/storableText.js';
import { StripeEventBodySchema } from './webhookSchemas.js';

import { STRIPE_SIGNATURE_TOLERANCE_SECONDS, STRIPE_WEBHOOK_MAX_BYTES } from './stripeWebhookLimits.js';

export { STRIPE_SIGNATURE_TOLERANCE_SECONDS, STRIPE_WEBHOOK_MAX_BYTES };

/** Deeper than any Stripe object (an invoice line's price details are about ten levels down). */
const MAX_EVENT_DEPTH = 32;

function refuse(message: string, details?: Record<string, unknown>): ApiError {
  return ApiError.badRequest(message, details);
}

/** The `t=` of a `Stripe-Signature` header: `t=<unix seconds>,v1=<hex>[,v1=...]`. */
function signedAt(signature: string): number {
  const value = signature
    .split(',')
    .map((item) => item.trim().split('='))
    .find(([key]) => key === 't')?.[1];
  return Number(value);
}

/** Verifies and parses the event, or 400 (and nothing changes). */
export function verifyStripeEvent(
  rawBody: string,
  signature: string | null,
  webhookSecret: string,
  nowMs: number = Date.now(),
): Stripe.Event {
  if (!signature) throw refuse('Missing the Stripe-Signature header.');
  let event: unknown;
  try {
    // The static helper: verifying needs no API key (https://github.com/stripe/stripe-node#webhook-signing).
    event = Stripe.webhooks.constructEvent(rawBody, signature, webhookSecret, STRIPE_SIGNATURE_TOLERANCE_SECONDS);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw refuse('The Stripe signature does not match the body.', { reason: message.slice(0, 300) });
  }
  // stripe-node refuses only signatures too old (Webhooks.js: `timestampAge > tolerance`); one dated in the
  // future is as replayable, for as long as it is ahead.
  if (signedAt(signature) - nowMs / 1000 > STRIPE_SIGNATURE_TOLERANCE_SECONDS) {
    throw refuse('The Stripe signature is dated in the future, outside the tolerance.', {
      tolerance_seconds: STRIPE_SIGNATURE_TOLERANCE_SECONDS,
    });
  }
  // Signed is not well-formed: a signed `[]`, or text PostgreSQL cannot store, is still refused before it is used.
  const tooDeep = freeFormProblem(event, { maxDepth: MAX_EVENT_DEPTH, maxBytes: STRIPE_WEBHOOK_MAX_BYTES });
  if (tooDeep) throw refuse(`The event ${tooDeep}.`);
  const shape = StripeEventBodySchema.safeParse(event);
  if (!shape.success) {
    throw refuse('The body is not a Stripe event.', {
      fields: shape.error.issues.map((issue) => ({ field: issue.path.join('.') || '(root)', message: issue.message })),
    });
  }
  const text = unstorableTextFields(event);
  if (text.length > 0) throw refuse('The event has text that cannot be stored.', { fields: text });
  return event as Stripe.Event;
}
