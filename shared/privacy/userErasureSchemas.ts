import { z } from '../openapi/zod.js';

export const EraseUserBody = z
  .object({
    confirm: z.uuid().openapi({ description: 'Your user id (GET /v1/users/me), to say that you mean it.' }),
  })
  .openapi('EraseUser', { example: { confirm: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f' } });
