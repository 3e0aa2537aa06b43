import type { Kysely } from 'kysely';
import type { EntraIdentity } from '../auth/entraTokens.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { findUserById, upsertUserByIdentity } from './userRepository.js';
import type { RegisterUserBody, UserResponse } from './userSchemas.js';

function toUserResponse(user: { id: string; display_name: string; email: string | null; created_at: Date }): UserResponse {
  return {
    id: user.id,
    display_name: user.display_name,
    email: user.email,
    created_at: user.created_at.toISOString(),
  };
}

export async function getCurrentUser(db: Kysely<Database>, userId: string): Promise<UserResponse> {
  const user = await findUserById(db, userId);
  // A key outliving its user would be a bug elsewhere; the caller still gets the same answer as a bad key.
  if (!user) throw ApiError.unauthorized();
  return toUserResponse(user);
}

/** Creates the user for a storefront identity, or returns the existing one (idempotent). */
export async function registerUser(
  db: Kysely<Database>,
  identity: EntraIdentity,
  body: RegisterUserBody | undefined,
): Promise<{ user: UserResponse; created: boolean }> {
  const row = await upsertUserByIdentity(db, {
    issuer: identity.issuer,
    subject: identity.subject,
    displayName: body?.display_name ?? identity.name ?? identity.email ?? 'Tracepipe user',
    email: body?.email ?? identity.email ?? null,
  });
  return { user: toUserResponse(row), created: row.created };
}
