import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { findUserById } from './userRepository.js';
import type { UserResponse } from './userSchemas.js';

export async function getCurrentUser(db: Kysely<Database>, userId: string): Promise<UserResponse> {
  const user = await findUserById(db, userId);
  // A key outliving its user would be a bug elsewhere; the caller still gets the same answer as a bad key.
  if (!user) throw ApiError.unauthorized();
  return {
    id: user.id,
    display_name: user.display_name,
    email: user.email,
    created_at: user.created_at.toISOString(),
  };
}
