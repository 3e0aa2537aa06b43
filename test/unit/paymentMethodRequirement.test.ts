import { describe, expect, it } from 'vitest';
import { assertPaymentMethodOnFile } from '../../shared/billing/paymentMethodRequirement.js';
import { loadConfig } from '../../shared/config.js';
import { ApiError } from '../../shared/errors/apiError.js';

const base = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tracepipe',
  AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  API_KEY_HMAC_SECRET: 'x'.repeat(32),
};

describe('a payment method before API keys', () => {
  it('is not needed while billing is off', () => {
    expect(() => assertPaymentMethodOnFile(loadConfig(base), { default_payment_method_id: null })).not.toThrow();
  });

  it('is needed once Stripe is configured, with a 403 that says why', () => {
    const config = loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_TOKENS_PRICE_ID: 'price_t', STRIPE_STORAGE_PRICE_ID: 'price_s' });
    let thrown: unknown;
    try {
      assertPaymentMethodOnFile(config, { default_payment_method_id: null });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).status).toBe(403);
    expect((thrown as ApiError).details).toEqual({ reason: 'payment_method_required' });
    expect(() => assertPaymentMethodOnFile(config, { default_payment_method_id: 'pm_123' })).not.toThrow();
  });
});
