import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadStripeSetupConfig } from '../../shared/config.js';

const valid = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tracepipe',
  AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  API_KEY_HMAC_SECRET: 'x'.repeat(32),
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((problem) => problem.setting);
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('reads a complete configuration with its defaults', () => {
    const config = loadConfig(valid);
    expect(config).toEqual({
      environment: 'production',
      database: { url: valid.DATABASE_URL, poolMax: 10 },
      storage: { connectionString: 'UseDevelopmentStorage=true' },
      apiKeyHmacSecret: valid.API_KEY_HMAC_SECRET,
      stripe: null,
      publicBaseUrl: undefined,
      cors: { allowedOrigins: [] },
      entra: null,
      sessions: { uploadUrlTtlSeconds: 3600, multipartMaxBytes: 104857600, uploadMaxBytes: 5368709120 },
      // Its defaults are checked in test/unit/billingUnits.test.ts.
      billing: expect.objectContaining({ currency: 'usd' }),
      privacy: { defaultSessionRetentionDays: 90, defaultExampleRetentionDays: null },
    });
  });

  it('reads the retention defaults as days or keep, naming a bad one', () => {
    expect(loadConfig({ ...valid, DEFAULT_SESSION_RETENTION_DAYS: 'keep', DEFAULT_EXAMPLE_RETENTION_DAYS: '30' }).privacy).toEqual({
      defaultSessionRetentionDays: null,
      defaultExampleRetentionDays: 30,
    });
    for (const bad of ['0', '3651', '1.5', 'forever']) {
      expect(problemsOf({ ...valid, DEFAULT_SESSION_RETENTION_DAYS: bad })).toEqual(['DEFAULT_SESSION_RETENTION_DAYS']);
    }
  });

  it('names a missing DATABASE_URL in the message', () => {
    const { DATABASE_URL: _omitted, ...rest } = valid;
    expect(problemsOf(rest)).toEqual(['DATABASE_URL']);
    expect(() => loadConfig(rest)).toThrow(/DATABASE_URL is required/);
  });

  it('names every bad setting at once', () => {
    expect(
      problemsOf({ ...valid, DATABASE_URL: 'mysql://x', DATABASE_POOL_MAX: 'many', API_KEY_HMAC_SECRET: 'short' }).sort(),
    ).toEqual(['API_KEY_HMAC_SECRET', 'DATABASE_POOL_MAX', 'DATABASE_URL']);
  });

  it('requires some way to reach storage', () => {
    const { AZURE_STORAGE_CONNECTION_STRING: _omitted, ...rest } = valid;
    expect(problemsOf(rest)).toEqual(['AZURE_STORAGE_CONNECTION_STRING']);
    expect(loadConfig({ ...rest, AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).storage).toEqual({
      connectionString: 'UseDevelopmentStorage=true',
    });
  });

  it('prefers the account URL (managed identity) over a connection string', () => {
    const config = loadConfig({ ...valid, AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net' });
    expect(config.storage).toEqual({ accountUrl: 'https://acct.blob.core.windows.net' });
  });

  it('turns Stripe on only with a secret key', () => {
    expect(loadConfig({ ...valid, STRIPE_SECRET_KEY: '' }).stripe).toBeNull();
    const prices = { STRIPE_TOKENS_PRICE_ID: 'price_t', STRIPE_STORAGE_PRICE_ID: 'price_s' };
    expect(loadConfig({ ...valid, ...prices, STRIPE_SECRET_KEY: 'sk_test_1', STRIPE_WEBHOOK_SECRET: 'whsec_1' }).stripe).toEqual({
      secretKey: 'sk_test_1',
      webhookSecret: 'whsec_1',
      eventsWebhookSecret: undefined,
    });
  });

  it('needs an audience with an Entra issuer', () => {
    expect(problemsOf({ ...valid, ENTRA_ISSUER: 'https://tenant.ciamlogin.com/tenant/v2.0' })).toEqual(['ENTRA_AUDIENCE']);
  });

  it('rejects an upload URL lifetime outside 60 s to 7 days', () => {
    expect(problemsOf({ ...valid, SESSION_UPLOAD_URL_TTL_SECONDS: '30' })).toEqual(['SESSION_UPLOAD_URL_TTL_SECONDS']);
  });

  it('rejects an unknown environment name', () => {
    expect(problemsOf({ ...valid, TRACEPIPE_ENV: 'staging' })).toEqual(['TRACEPIPE_ENV']);
  });

  it('refuses a Key Vault reference that was not resolved, by setting name, though its text would pass the checks', () => {
    const reference = '@Microsoft.KeyVault(VaultName=kv-abc123;SecretName=api-key-hmac-secret)';
    expect(reference.length).toBeGreaterThanOrEqual(32);
    expect(problemsOf({ ...valid, API_KEY_HMAC_SECRET: reference })).toEqual(['API_KEY_HMAC_SECRET']);
    expect(
      problemsOf({
        ...valid,
        API_KEY_HMAC_SECRET: reference,
        STRIPE_SECRET_KEY: ' @microsoft.keyvault(SecretUri=https://kv-abc123.vault.azure.net/secrets/stripe-secret-key/)',
      }),
    ).toEqual(['API_KEY_HMAC_SECRET', 'STRIPE_SECRET_KEY']);
    let message = '';
    try {
      loadConfig({ ...valid, STRIPE_WEBHOOK_SECRET: '@Microsoft.KeyVault(VaultName=v;SecretName=s)' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/STRIPE_WEBHOOK_SECRET is a Key Vault reference that was not resolved/);
    expect(() => loadStripeSetupConfig({ STRIPE_SECRET_KEY: '@Microsoft.KeyVault(VaultName=v;SecretName=s)' })).toThrow(/STRIPE_SECRET_KEY is a Key Vault reference/);
    // A secret that merely contains the words is a secret.
    expect(loadConfig({ ...valid, API_KEY_HMAC_SECRET: `x${reference}` }).apiKeyHmacSecret).toBe(`x${reference}`);
  });

  it('reads the CORS origins, and refuses anything that is not an exact origin', () => {
    expect(loadConfig({ ...valid, CORS_ALLOWED_ORIGINS: 'https://shop.example.com, http://localhost:5173' }).cors).toEqual({
      allowedOrigins: ['https://shop.example.com', 'http://localhost:5173'],
    });
    for (const bad of ['*', 'https://shop.example.com/', 'https://shop.example.com/path', 'shop.example.com', 'ftp://x.example']) {
      expect(problemsOf({ ...valid, CORS_ALLOWED_ORIGINS: bad }), bad).toEqual(['CORS_ALLOWED_ORIGINS']);
    }
  });
});
