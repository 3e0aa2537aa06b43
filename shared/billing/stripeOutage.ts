import { ApiError } from '../errors/apiError.js';
import { isDependencyOutage } from '../errors/dependencyOutage.js';

/**
 * Runs a Stripe call for a request: if Stripe cannot be reached, times out, is overloaded (429) or fails (5xx),
 * the caller gets 503 `unavailable` naming Stripe; anything else (a bad key, a bug) propagates as it is.
 */
export async function callStripe<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isDependencyOutage(error)) {
      throw ApiError.unavailable('Stripe is unavailable; retry later.', { dependency: 'stripe' });
    }
    throw error;
  }
}
