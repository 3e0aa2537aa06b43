import { z } from '../openapi/zod.js';

export const StripeWebhookAckSchema = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean().openapi({ description: 'The event was handled before; nothing was done again.' }),
    effect: z.enum(['applied', 'stale', 'ignored']).openapi({
      description: '`stale`: an older event than the state already stored; `ignored`: not an event this API uses.',
    }),
  })
  .openapi('StripeWebhookAck');

export const StripeEventBodySchema = z
  .object({ id: z.string(), type: z.string(), created: z.number().int(), data: z.object({ object: z.record(z.string(), z.unknown()) }) })
  .passthrough()
  .openapi('StripeEvent', { description: 'A Stripe event (https://docs.stripe.com/api/events/object), signed by Stripe.' });

export const StripeSignatureHeaders = z.object({
  'stripe-signature': z.string().openapi({
    description: 'Stripe\'s signature of the raw body: `t=<unix time>,v1=<HMAC-SHA256 hex>`.',
    example: 't=1771497000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd',
  }),
});
