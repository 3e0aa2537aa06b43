/**
 * What POST /v1/webhooks/stripe accepts before any event is applied: a small body (Stripe's events are a few KiB,
 * an invoice with its lines some tens), a signature by the endpoint's secret made within five minutes of now in
 * either direction, and an event of the documented shape whose text can be stored (./stripeEventVerification.ts).
 * Apart from it so that the route declares its limits without loading stripe-node.
 */
export const STRIPE_WEBHOOK_MAX_BYTES = 256 * 1024;

/** Stripe's own default tolerance (https://docs.stripe.com/webhooks#replay-attacks). */
export const STRIPE_SIGNATURE_TOLERANCE_SECONDS = 300;
