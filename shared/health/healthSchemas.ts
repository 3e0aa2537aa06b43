import { z } from '../openapi/zod.js';

const CheckStatusSchema = z.enum(['ok', 'down']);

export const HealthSchema = z
  .object({
    status: CheckStatusSchema,
    checks: z.object({ database: CheckStatusSchema, storage: CheckStatusSchema }),
  })
  .openapi('Health', { example: { status: 'ok', checks: { database: 'ok', storage: 'ok' } } });
