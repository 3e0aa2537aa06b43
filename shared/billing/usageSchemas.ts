import { z } from '../openapi/zod.js';
import { BudgetStateSchema } from './budgetSchemas.js';

export const UsageQuery = z.object({
  suite_id: z.uuid().optional().openapi({
    description:
      'Only usage in this suite: tokens, sessions and examples. Storage (and its cost) is per account and stays whole.',
    example: '3f0e8a52-7c1d-4b8e-9a63-2d4c5b6a7e81',
  }),
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM')
    .optional()
    .openapi({
      description: 'The calendar month (UTC) to report, `YYYY-MM`; the current month by default.',
      example: '2026-01',
    }),
});

export type UsageQueryInput = z.infer<typeof UsageQuery>;

const MinorUnits = z.number().int().min(0);

const CarriedUsage = z.object({
  tokens: z.number().int().min(0),
  storage_gb_hours: z.number().min(0),
});

export const UsageSchema = z
  .object({
    billing_period: z
      .object({
        start: z.iso.datetime().openapi({ description: 'First instant of the calendar month (UTC).' }),
        end: z.iso.datetime().openapi({ description: 'First instant of the next month (exclusive).' }),
      })
      .openapi('BillingPeriod'),
    tokens: z.object({
      total: z.number().int().min(0).openapi({ description: 'Input plus output tokens used this month.' }),
      by_model: z
        .record(z.string(), z.number().int().min(0))
        .openapi({ description: 'Tokens by model, keyed `provider/name` in lower case.', example: { 'openai/gpt-4o': 120000 } }),
      billable: z.number().int().min(0).openapi({
        description: 'Tokens this month\'s invoices bill: used inside a subscription, plus any carried in (see `billing`).',
      }),
      not_billable: z.number().int().min(0).openapi({
        description:
          'Tokens of this month no invoice bills: used outside any subscription (before the first one, between ' +
          'two), or whose meter event Stripe refused for good.',
      }),
    }),
    storage: z.object({
      gb_hours: z.number().min(0).openapi({
        description:
          'GB-hours this month (1 GB = 10^9 bytes): the hourly samples, plus what was stored in the hours since, up to now.',
      }),
      current_gb: z.number().min(0).openapi({ description: 'GB stored now: sessions and examples.' }),
      billable_gb_hours: z.number().min(0).openapi({
        description: 'GB-hours this month\'s invoices bill (the KB-hours the storage meter receives, / 10^6).',
      }),
      not_billable_gb_hours: z.number().min(0).openapi({ description: 'GB-hours of this month no invoice bills.' }),
    }),
    sessions_uploaded: z.number().int().min(0).openapi({ description: 'Sessions created this month whose trace arrived.' }),
    examples_generated: z.number().int().min(0).openapi({ description: 'Examples that completed this month.' }),
    billing: z
      .object({
        enabled: z.boolean().openapi({ description: 'Whether this deployment bills (Stripe configured).' }),
        invoice_periods: z
          .array(z.object({ start: z.iso.datetime(), end: z.iso.datetime() }))
          .openapi({
            description:
              'The subscription periods inside this month, each its own invoice: usually the whole month; the ' +
              'first period of a subscription runs from when it was created to the next 1st.',
          }),
        carried_in: CarriedUsage.openapi({
          description:
            'Usage of an earlier month that reached Stripe after that month was invoiced, billed in this one (included in `billable`).',
        }),
        carried_out: CarriedUsage.openapi({
          description: 'Usage of this month billed in a later month instead, for the same reason (not in `billable`).',
        }),
      })
      .openapi({ description: 'How this month is invoiced.' }),
    estimated_cost: z
      .object({
        tokens: MinorUnits,
        storage: MinorUnits,
        total: MinorUnits,
        currency: z.string().openapi({ description: 'Lower-case ISO 4217 code, as Stripe spells it.', example: 'usd' }),
      })
      .openapi({
        description:
          'What this month\'s invoices say for the billable usage so far: per invoice period, each meter\'s quantity ' +
          'times its subscription price, rounded to a whole minor unit (cents for usd) as Stripe rounds each line. ' +
          'Without billing (no Stripe), what the usage would cost at the configured prices.',
      }),
    budget: BudgetStateSchema.openapi({
      description:
        'This month against the account\'s budget (GET|PUT /v1/billing/budget): always the whole account and the ' +
        'current month, whatever `suite_id` or `period` say; `used` is the unfiltered `estimated_cost.total`.',
    }),
  })
  .openapi('Usage', {
    example: {
      billing_period: { start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' },
      tokens: {
        total: 150000,
        by_model: { 'openai/gpt-4o': 120000, 'anthropic/claude-sonnet-4': 30000 },
        billable: 150000,
        not_billable: 0,
      },
      storage: { gb_hours: 412.5, current_gb: 1.25, billable_gb_hours: 412.5, not_billable_gb_hours: 0 },
      sessions_uploaded: 14,
      examples_generated: 9,
      billing: {
        enabled: true,
        invoice_periods: [{ start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' }],
        carried_in: { tokens: 0, storage_gb_hours: 0 },
        carried_out: { tokens: 0, storage_gb_hours: 0 },
      },
      estimated_cost: { tokens: 30, storage: 2, total: 32, currency: 'usd' },
      budget: { limit: 5000, used: 32, remaining: 4968, state: 'ok', currency: 'usd' },
    },
  });

export type UsageResponse = z.infer<typeof UsageSchema>;
