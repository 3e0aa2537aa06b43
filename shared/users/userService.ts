import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { EntraIdentity } from '../auth/entraTokens.js';
import { ensureStripeCustomer } from '../billing/customers.js';
import type { PrivacyConfig } from '../config.js';
import { writeDefaultSettings } from '../privacy/userSettings.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { findUserById, upsertUserByIdentity } from './userRepository.js';
import type { RegisterUserBody, UserResponse } from './userSchemas.js';

export function toUserResponse(user: { id: string; display_name: string; email: string | null; created_at: Date }): UserResponse {
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

/**
 * Creates the user for a storefront identity, or returns the existing one (idempotent). With billing on, the user
 * also gets a Stripe customer (created once, even under concurrent calls); if Stripe is down the call is 503 and
 * a retry finishes the job. `stripe` is null with billing off.
 */
export async function registerUser(
  deps: { db: Kysely<Database>; stripe: Stripe | null; privacy: PrivacyConfig },
  identity: EntraIdentity,
  body: RegisterUserBody | undefined,
): Promise<{ user: UserResponse; created: boolean }> {
  const { db, stripe } = deps;
  const row = await upsertUserByIdentity(db, {
    issuer: identity.issuer,
    subject: identity.subject,
    displayName: body?.display_name ?? identity.name ?? identity.email ?? 'Tracepipe user',
    email: body?.email ?? identity.email ?? null,
  });
  // Before Stripe: a retry after Stripe was down finds the settings written, and writes nothing twice.
  if (row.created) await writeDefaultSettings(db, deps.privacy, row.id);
  if (stripe && !row.stripe_customer_id) await ensureStripeCustomer(db, stripe, row);
  return { user: toUserResponse(row), created: row.created };
}
