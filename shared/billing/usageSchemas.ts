import { z } from '../openapi/zod.js';

export const UsageQuery = z.object({
  suite_id: z.uuid().optional().openapi({
    description:
      'Only usage in this suite: tokens, sessions and examples. Storage (and its cost) is per account and stays whole.',
    example: '3f0e8a52-7c1d-4b8e-9a63-2d4c5b6a7e81',
  }),
});

export type UsageQueryInput = z.infer<typeof UsageQuery>;

const MinorUnits = z.number().int().min(0);

export const UsageSchema = z
  .object({
    billing_period: z
      .object({
        start: z.iso.datetime().openapi({ description: 'First instant of the current calendar month (UTC).' }),
        end: z.iso.datetime().openapi({ description: 'First instant of the next month (exclusive).' }),
      })
      .openapi('BillingPeriod'),
    tokens: z.object({
      total: z.number().int().min(0).openapi({ description: 'Input plus output tokens this month.' }),
      by_model: z
        .record(z.string(), z.number().int().min(0))
        .openapi({ description: 'Tokens by model, keyed `provider/name` in lower case.', example: { 'openai/gpt-4o': 120000 } }),
    }),
    storage: z.object({
      gb_hours: z.number().min(0).openapi({
        description:
          'GB-hours this month (1 GB = 10^9 bytes): the hourly samples, plus what is stored now for the time since the last sample.',
      }),
      current_gb: z.number().min(0).openapi({ description: 'GB stored now: sessions and examples.' }),
    }),
    sessions_uploaded: z.number().int().min(0).openapi({ description: 'Sessions created this month whose trace arrived.' }),
    examples_generated: z.number().int().min(0).openapi({ description: 'Examples that completed this month.' }),
    estimated_cost: z
      .object({
        tokens: MinorUnits,
        storage: MinorUnits,
        total: MinorUnits,
        currency: z.string().openapi({ description: 'Lower-case ISO 4217 code, as Stripe spells it.', example: 'usd' }),
      })
      .openapi({
        description:
          'At the configured prices, in minor units of the currency (cents for usd), each part rounded to a whole unit. An estimate: the invoice is what Stripe bills.',
      }),
  })
  .openapi('Usage', {
    example: {
      billing_period: { start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' },
      tokens: { total: 150000, by_model: { 'openai/gpt-4o': 120000, 'anthropic/claude-sonnet-4': 30000 } },
      storage: { gb_hours: 412.5, current_gb: 1.25 },
      sessions_uploaded: 14,
      examples_generated: 9,
      estimated_cost: { tokens: 30, storage: 2, total: 32, currency: 'usd' },
    },
  });

export type UsageResponse = z.infer<typeof UsageSchema>;
