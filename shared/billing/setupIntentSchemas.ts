import { z } from '../openapi/zod.js';

export const SetupIntentSchema = z
  .object({
    client_secret: z.string().openapi({
      description: 'For Stripe Elements (`stripe.confirmSetup`). The card becomes the default once Stripe confirms it.',
      example: 'seti_1Q2w3E4r5T6y7U8i_secret_AbCdEfGhIjKlMnOpQrStUvWxYz',
    }),
  })
  .openapi('SetupIntent');

export type SetupIntentResponse = z.infer<typeof SetupIntentSchema>;
