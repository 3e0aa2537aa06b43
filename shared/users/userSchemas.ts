import { z } from '../openapi/zod.js';

export const UserSchema = z
  .object({
    id: z.uuid(),
    display_name: z.string(),
    email: z.string().nullable(),
    created_at: z.iso.datetime(),
  })
  .openapi('User', {
    example: {
      id: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
      display_name: 'Ada Lovelace',
      email: 'ada@example.com',
      created_at: '2026-02-19T10:30:00.000Z',
    },
  });

export type UserResponse = z.infer<typeof UserSchema>;

export const RegisterUserBodySchema = z
  .object({
    display_name: z.string().trim().min(1).max(200).optional(),
    email: z.email().max(320).optional(),
  })
  .openapi('RegisterUser', {
    description: 'Optional: defaults come from the token (`name`, `email`).',
    example: { display_name: 'Ada Lovelace' },
  });

export type RegisterUserBody = z.infer<typeof RegisterUserBodySchema>;
