import { z } from '../openapi/zod.js';

export const DEFAULT_ALERT_THRESHOLDS = [0.5, 0.8, 1];
export const MAX_ALERT_THRESHOLDS = 10;

const ThresholdsSchema = z
  .array(
    z
      .number()
      .gt(0, 'must be above 0')
      .max(1, 'must be at most 1 (a share of the limit)'),
  )
  .max(MAX_ALERT_THRESHOLDS)
  .transform((values) => [...new Set(values)].sort((a, b) => a - b))
  .openapi({
    description:
      'Shares of the limit, each in (0, 1]: crossing one in a month sends `usage.budget_threshold` once for that ' +
      `month and threshold. At most ${MAX_ALERT_THRESHOLDS}.`,
    example: DEFAULT_ALERT_THRESHOLDS,
  });

export const PutBudgetBodySchema = z
  .object({
    monthly_limit: z
      .number()
      .int('must be a whole number of minor units (cents for usd)')
      .min(0, 'must not be negative')
      .max(Number.MAX_SAFE_INTEGER)
      .nullable()
      .openapi({ description: 'The most a calendar month (UTC) may cost, in minor units of `currency`; null for no limit.', example: 5000 }),
    currency: z.string().trim().toLowerCase().optional().openapi({
      description: 'The billing currency (GET /v1/usage `estimated_cost.currency`); any other is 422. Defaults to it.',
      example: 'usd',
    }),
    hard_limit: z.boolean().default(false).openapi({
      description:
        'true: once the month\'s cost reaches the limit, new paid work (examples, sessions, dataset builds, and ' +
        'their MCP and A2P equivalents) is refused with 402 `budget_exceeded`; reads and downloads keep working. ' +
        'false: alerts only.',
    }),
    alert_thresholds: ThresholdsSchema.default(DEFAULT_ALERT_THRESHOLDS),
  })
  .openapi('PutBudget', { example: { monthly_limit: 5000, hard_limit: true, alert_thresholds: DEFAULT_ALERT_THRESHOLDS } });
export type PutBudgetBody = z.infer<typeof PutBudgetBodySchema>;

export const BudgetSchema = z
  .object({
    monthly_limit: z.number().int().min(0).nullable(),
    currency: z.string(),
    hard_limit: z.boolean(),
    alert_thresholds: z.array(z.number()),
  })
  .openapi('Budget', { example: { monthly_limit: 5000, currency: 'usd', hard_limit: true, alert_thresholds: DEFAULT_ALERT_THRESHOLDS } });
export type BudgetResponse = z.infer<typeof BudgetSchema>;

export const BudgetStateSchema = z
  .object({
    limit: z.number().int().min(0).nullable().openapi({ description: 'The monthly limit in minor units; null for none.' }),
    used: z.number().int().min(0).openapi({
      description: 'This month\'s cost so far for the whole account: `estimated_cost.total` of GET /v1/usage without filters.',
    }),
    remaining: z.number().int().min(0).nullable(),
    state: z.enum(['ok', 'alerting', 'exceeded']).openapi({
      description: '`alerting` once the lowest alert threshold is crossed, `exceeded` once `used` reaches `limit`.',
    }),
    currency: z.string(),
  })
  .openapi('BudgetState');
export type BudgetState = z.infer<typeof BudgetStateSchema>;
