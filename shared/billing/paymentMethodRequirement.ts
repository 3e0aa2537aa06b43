import type { Config } from '../config.js';
import { ApiError } from '../errors/apiError.js';

/** Billing is on exactly when Stripe is configured. */
export function isBillingEnabled(config: Config): boolean {
  return config.stripe !== null;
}

/**
 * The one place that decides whether a user may create API keys: with billing on, only with a default payment
 * method on file (set from Stripe's webhook after a SetupIntent), so that every key's usage can be invoiced.
 */
export function assertPaymentMethodOnFile(
  config: Config,
  user: { default_payment_method_id: string | null },
): void {
  if (isBillingEnabled(config) && !user.default_payment_method_id) {
    throw ApiError.forbidden('Add a payment method before creating API keys (POST /v1/billing/setup-intent).', {
      reason: 'payment_method_required',
    });
  }
}
