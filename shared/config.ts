import { z } from 'zod';

/**
 * Every setting the app reads, validated once. This is the only module that touches process.env for the app;
 * the local host (dev/) fills embedded defaults before the app loads, Azure fills them from app settings.
 */
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/*
 * ---- Billing and Stripe (issue 7) -------------------------------------------------------------------------------
 * Stripe is on exactly when STRIPE_SECRET_KEY is set (above); usage accrues and GET /v1/usage works either way.
 * Money is in minor units of BILLING_CURRENCY (cents for usd), as Stripe counts it; prices may carry decimals.
 * GB means 10^9 bytes. Storage goes to Stripe in KB-hours (10^3 bytes for one hour): meter event values are sent
 * as whole numbers (https://docs.stripe.com/billing/subscriptions/usage-based/recording-usage-api), and a KB-hour
 * is fine enough that rounding each hour's figure moves no invoice by a cent (at most 0.5 KB-hour an hour).
 * Both prices reach Stripe divided by 10^6 (per token, per KB-hour), and Stripe's `unit_amount_decimal` takes at
 * most 12 decimals: hence at most 6 here.
 */
const DECIMAL_PRICE = /^\d{1,12}(\.\d{1,6})?$/;
// NCRONTAB as Azure Functions timers read it: six fields, seconds first.
const NCRONTAB = /^\S+(\s+\S+){5}$/;
const METER_EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

const decimalPrice = (fallback: string) =>
  z
    .string()
    .trim()
    .regex(DECIMAL_PRICE, 'must be a non-negative decimal number of minor currency units with at most 6 decimals (e.g. 200 or 0.005)')
    .default(fallback);
const timerSchedule = (fallback: string) =>
  z.string().trim().regex(NCRONTAB, 'must be an NCRONTAB expression of six fields (e.g. "0 */15 * * * *")').default(fallback);
const meterEventName = (fallback: string) =>
  z.string().trim().regex(METER_EVENT_NAME, 'must be 1 to 100 letters, digits or _ . : -').default(fallback);

const billingSchedules = {
  STRIPE_SYNC_SCHEDULE: timerSchedule('0 */15 * * * *'),
  STORAGE_SAMPLE_SCHEDULE: timerSchedule('0 1 * * * *'),
  // Closing a period (the last hour sampled and sent, then compared with Stripe's figures) must happen inside
  // Stripe's invoice finalization grace period; every ten minutes it costs one query when nothing has ended.
  BILLING_PERIOD_CLOSE_SCHEDULE: timerSchedule('0 */10 * * * *'),
  // Subscriptions and invoices read back from Stripe's list API, for whatever webhooks missed.
  BILLING_RECONCILE_SCHEDULE: timerSchedule('0 30 2 * * *'),
};

// Webhooks and budgets (issue 21): the deliverer runs often, since an event waits for it (shared/webhooks/
// webhookDeliverer.ts says why a timer); budget thresholds are checked against usage every few minutes.
const webhookSchedules = {
  WEBHOOK_DELIVERY_SCHEDULE: timerSchedule('*/5 * * * * *'),
  BUDGET_CHECK_SCHEDULE: timerSchedule('0 */5 * * * *'),
};

const billingSettings = {
  ...billingSchedules,
  // Another Stripe endpoint (stripe-mock, or the tests' fake): its host, port and protocol go to the SDK.
  STRIPE_API_URL: optionalString.pipe(z.url({ error: 'must be a URL such as http://127.0.0.1:12111' }).optional()),
  STRIPE_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a whole number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(100, 'must be at least 100')
    .max(120_000, 'must be at most 120000')
    .default(20_000),
  STRIPE_TOKENS_METER_EVENT: meterEventName('tracepipe_tokens'),
  STRIPE_STORAGE_METER_EVENT: meterEventName('tracepipe_storage_kb_hours'),
  // The metered prices (printed by `npm run stripe:setup`): subscriptions are made of them, invoices read by them.
  STRIPE_TOKENS_PRICE_ID: optionalString,
  STRIPE_STORAGE_PRICE_ID: optionalString,
  STRIPE_SYNC_CONCURRENCY: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(64, 'must be at most 64')
    .default(8),
  STRIPE_SYNC_TIME_BUDGET_SECONDS: z.coerce
    .number({ error: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(5, 'must be at least 5')
    .max(3600, 'must be at most 3600')
    .default(600),
  BILLING_CURRENCY: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z]{3}$/, 'must be a three-letter ISO 4217 code such as usd')
    .default('usd'),
  BILLING_TOKEN_PRICE_PER_MILLION: decimalPrice('200'),
  BILLING_STORAGE_PRICE_PER_GB_HOUR: decimalPrice('0.005'),
  // A past_due subscription (a payment failed, Stripe retries) may still incur cost this long.
  BILLING_PAST_DUE_GRACE_DAYS: z.coerce
    .number({ error: 'must be a whole number of days' })
    .int('must be a whole number of days')
    .min(0, 'must be at least 0')
    .max(60, 'must be at most 60')
    .default(7),
  // Stripe's invoice finalization grace period (1 hour by default, at most 72): the app sets each new draft to
  // finalize this long after its period ends, and closes the period (last hour sent) well inside it.
  BILLING_INVOICE_GRACE_MINUTES: z.coerce
    .number({ error: 'must be a whole number of minutes' })
    .int('must be a whole number of minutes')
    .min(30, 'must be at least 30')
    .max(72 * 60, 'must be at most 4320 (72 hours, the longest Stripe allows)')
    .default(60),
};


/**
 * The two metering timers' schedules, for registering them when the functions load (before the rest of the
 * configuration may be read: `npm run openapi` loads the functions with no settings at all).
 */
export function timerSchedules(env: Record<string, string | undefined> = process.env): {
  stripeSync: string;
  storageSample: string;
  periodClose: string;
  reconcile: string;
  webhookDelivery: string;
  budgetCheck: string;
} {
  const parsed = z.object({ ...billingSchedules, ...webhookSchedules }).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ setting: issue.path.join('.'), message: issue.message })),
    );
  }
  return {
    stripeSync: parsed.data.STRIPE_SYNC_SCHEDULE,
    storageSample: parsed.data.STORAGE_SAMPLE_SCHEDULE,
    periodClose: parsed.data.BILLING_PERIOD_CLOSE_SCHEDULE,
    reconcile: parsed.data.BILLING_RECONCILE_SCHEDULE,
    webhookDelivery: parsed.data.WEBHOOK_DELIVERY_SCHEDULE,
    budgetCheck: parsed.data.BUDGET_CHECK_SCHEDULE,
  };
}
const billingSchema = z.object(billingSettings);

function billingConfigOf(value: z.infer<typeof billingSchema>) {
  return {
    currency: value.BILLING_CURRENCY,
    /** Minor units per million tokens (input plus output), as a decimal string. */
    tokenPricePerMillion: value.BILLING_TOKEN_PRICE_PER_MILLION,
    /** Minor units per GB-hour, as a decimal string. */
    storagePricePerGbHour: value.BILLING_STORAGE_PRICE_PER_GB_HOUR,
    stripeApiUrl: value.STRIPE_API_URL,
    stripeTimeoutMs: value.STRIPE_TIMEOUT_MS,
    meterEvents: { tokens: value.STRIPE_TOKENS_METER_EVENT, storage: value.STRIPE_STORAGE_METER_EVENT },
    stripePriceIds: { tokens: value.STRIPE_TOKENS_PRICE_ID, storage: value.STRIPE_STORAGE_PRICE_ID },
    sync: {
      schedule: value.STRIPE_SYNC_SCHEDULE,
      concurrency: value.STRIPE_SYNC_CONCURRENCY,
      timeBudgetSeconds: value.STRIPE_SYNC_TIME_BUDGET_SECONDS,
    },
    storageSampleSchedule: value.STORAGE_SAMPLE_SCHEDULE,
    periodCloseSchedule: value.BILLING_PERIOD_CLOSE_SCHEDULE,
    reconcileSchedule: value.BILLING_RECONCILE_SCHEDULE,
    pastDueGraceDays: value.BILLING_PAST_DUE_GRACE_DAYS,
    invoiceGraceMinutes: value.BILLING_INVOICE_GRACE_MINUTES,
  };
}

/** The billing settings as the app uses them: what billingSchema's settings become (billingConfigOf). */
export type BillingConfig = z.output<typeof billingConfigSchema>;
const billingConfigSchema = billingSchema.transform(billingConfigOf);

/** For `npm run stripe:setup`: the Stripe key and the billing settings only (no database or storage needed). */
export function loadStripeSetupConfig(env: Record<string, string | undefined>): { secretKey: string; billing: BillingConfig } {
  const unresolved = unresolvedKeyVaultReferences(env, ['STRIPE_SECRET_KEY', ...Object.keys(billingSettings)]);
  if (unresolved) throw unresolved;
  const parsed = billingSchema
    .extend({
      STRIPE_SECRET_KEY: z
        .string({ error: 'is required: the secret key of the Stripe account to set up' })
        .trim()
        .min(1, 'is required: the secret key of the Stripe account to set up'),
    })
    .safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ setting: issue.path.join('.'), message: issue.message })),
    );
  }
  return { secretKey: parsed.data.STRIPE_SECRET_KEY, billing: billingConfigOf(parsed.data) };
}
// ---- end of billing and Stripe --------------------------------------------------------------------------------

/*
 * ---- Data lifecycle (issue 22) ----------------------------------------------------------------------------------
 * Retention defaults for users who have not chosen (a number of days, 1 to 3650, or `keep`), and the schedules of
 * the daily lifecycle timer (retention, the roll-up of invoiced storage samples).
 */
const retentionDays = (fallback: number | null) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value, ctx): number | null => {
      if (value === undefined || value === '') return fallback;
      if (value.toLowerCase() === 'keep') return null;
      const days = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
      if (!(days >= 1 && days <= 3650)) {
        ctx.addIssue({ code: 'custom', message: 'must be a whole number of days from 1 to 3650, or keep' });
        return z.NEVER;
      }
      return days;
    });

const lifecycleSchedules = {
  DATA_LIFECYCLE_SCHEDULE: timerSchedule('0 30 3 * * *'),
};

/** The lifecycle timer's schedule, read when the functions load (as timerSchedules above). */
export function lifecycleSchedule(env: Record<string, string | undefined> = process.env): string {
  const parsed = z.object(lifecycleSchedules).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({ setting: issue.path.join('.'), message: issue.message })));
  }
  return parsed.data.DATA_LIFECYCLE_SCHEDULE;
}

/** Retention defaults for users who have not chosen: days, or null (kept). */
export type PrivacyConfig = Config['privacy'];
// ---- end of data lifecycle ------------------------------------------------------------------------------------

const configSchema = z
  .object({
    TRACEPIPE_ENV: z
      .enum(['development', 'test', 'production'], {
        error: 'must be one of development, test, production',
      })
      .default('production'),
    DATABASE_URL: z
      .string({ error: 'is required: the PostgreSQL connection string (postgres://user@host:5432/db)' })
      .trim()
      .min(1, 'is required: the PostgreSQL connection string (postgres://user@host:5432/db)')
      .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// or postgresql:// URL'),
    DATABASE_POOL_MAX: z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(100, 'must be at most 100')
      .default(10),
    // entra: the password is a Microsoft Entra access token of the app's identity (Azure; see superRefine below).
    DATABASE_AUTH: z.enum(['password', 'entra'], { error: 'must be password or entra' }).default('password'),
    AZURE_STORAGE_CONNECTION_STRING: optionalString,
    AzureWebJobsStorage: optionalString,
    AZURE_STORAGE_ACCOUNT_URL: optionalString.pipe(z.url({ error: 'must be an https:// URL' }).optional()),
    API_KEY_HMAC_SECRET: z
      .string({ error: 'is required: a random secret of at least 32 characters that keys are hashed with' })
      .min(32, 'must be at least 32 characters'),
    STRIPE_SECRET_KEY: optionalString,
    STRIPE_WEBHOOK_SECRET: optionalString,
    // The signing secret of the event destination that sends Stripe's thin events (meter error reports).
    STRIPE_EVENTS_WEBHOOK_SECRET: optionalString,
    PUBLIC_BASE_URL: optionalString.pipe(z.url({ error: 'must be a URL' }).optional()),
    // Browser origins allowed to call the API (the storefront): exact origins, comma-separated (shared/http/cors.ts).
    CORS_ALLOWED_ORIGINS: z
      .string()
      .default('')
      .transform((value) => value.split(/[\s,]+/).filter((origin) => origin !== ''))
      .refine(
        (origins) => origins.every(isOrigin),
        'must be origins such as https://shop.example.com (scheme, host and port only, no path or wildcard), comma-separated',
      ),
    // Microsoft Entra External ID, for the storefront's Bearer tokens. Without an issuer, Bearer auth is off.
    ENTRA_ISSUER: optionalString.pipe(z.url({ error: 'must be the token issuer URL' }).optional()),
    ENTRA_AUDIENCE: optionalString,
    ENTRA_JWKS_URL: optionalString.pipe(z.url({ error: 'must be a URL' }).optional()),
    // Sessions: how long an upload URL stays valid, and the size limits of the two upload paths.
    SESSION_UPLOAD_URL_TTL_SECONDS: z.coerce
      .number({ error: 'must be a whole number of seconds' })
      .int('must be a whole number of seconds')
      .min(60, 'must be at least 60')
      .max(7 * 24 * 3600, 'must be at most 604800 (7 days, the longest SAS Azure allows for user delegation)')
      .default(3600),
    SESSION_MULTIPART_MAX_BYTES: z.coerce
      .number({ error: 'must be a number of bytes' })
      .int('must be a whole number of bytes')
      .min(1, 'must be positive')
      .default(100 * 1024 * 1024),
    SESSION_UPLOAD_MAX_BYTES: z.coerce
      .number({ error: 'must be a number of bytes' })
      .int('must be a whole number of bytes')
      .min(1, 'must be positive')
      .default(5 * 1024 * 1024 * 1024),
    ...billingSettings,
    ...lifecycleSchedules,
    DEFAULT_SESSION_RETENTION_DAYS: retentionDays(90),
    DEFAULT_EXAMPLE_RETENTION_DAYS: retentionDays(null),
    ...webhookSchedules,
  })
  .superRefine((env, ctx) => {
    if (!env.AZURE_STORAGE_CONNECTION_STRING && !env.AzureWebJobsStorage && !env.AZURE_STORAGE_ACCOUNT_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['AZURE_STORAGE_CONNECTION_STRING'],
        message:
          'is required (or AZURE_STORAGE_ACCOUNT_URL with a managed identity, or AzureWebJobsStorage): where sessions and examples are stored',
      });
    }
    // With Stripe on, usage is billed through a subscription to the two metered prices: without them nothing
    // could be invoiced, so the start fails rather than accept paid work it cannot bill.
    if (env.STRIPE_SECRET_KEY) {
      for (const setting of ['STRIPE_TOKENS_PRICE_ID', 'STRIPE_STORAGE_PRICE_ID'] as const) {
        if (!env[setting]) {
          ctx.addIssue({
            code: 'custom',
            path: [setting],
            message: 'is required with STRIPE_SECRET_KEY: the metered price subscriptions are made of (npm run stripe:setup prints it)',
          });
        }
      }
    }
    if (env.ENTRA_ISSUER && !env.ENTRA_AUDIENCE) {
      ctx.addIssue({ code: 'custom', path: ['ENTRA_AUDIENCE'], message: 'is required with ENTRA_ISSUER' });
    }
    if (env.DATABASE_AUTH === 'entra') {
      for (const message of entraDatabaseUrlProblems(env.DATABASE_URL)) {
        ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message });
      }
    }
  });

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
  } catch {
    return false;
  }
}

/**
 * With DATABASE_AUTH=entra the URL names the role and the server, and the app brings the password: an access
 * token, which must only travel over TLS to a server whose certificate is verified.
 */
function entraDatabaseUrlProblems(databaseUrl: string): string[] {
  const example = 'postgres://<function-app-name>@<server>.postgres.database.azure.com:5432/<database>?sslmode=verify-full';
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return [];
  }
  const problems: string[] = [];
  if (!url.username) {
    problems.push(`must name the database role with DATABASE_AUTH=entra: the app identity's name (${example})`);
  }
  if (url.password) {
    problems.push('must not carry a password with DATABASE_AUTH=entra: the Microsoft Entra access token is the password');
  }
  if (url.searchParams.get('sslmode') !== 'verify-full') {
    problems.push('must set sslmode=verify-full with DATABASE_AUTH=entra: the access token goes only to a verified server over TLS');
  }
  return problems;
}

/** Every setting the schema knows (infra/main.bicep may set no other, see test/api/infra.test.ts). */
export const CONFIG_SETTING_NAMES: readonly string[] = Object.keys(configSchema.shape);

/** The configuration as the app uses it: what the settings become once configSchema has read them (toConfig). */
export type Config = z.output<typeof appConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: Array<{ setting: string; message: string }>) {
    super(
      'Invalid configuration:\n' + problems.map((problem) => `  - ${problem.setting} ${problem.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/**
 * App Service resolves `@Microsoft.KeyVault(...)` app settings into the secret's value before the app starts; one
 * that it could not resolve (the identity not yet granted, the secret missing, the vault unreachable) reaches the
 * app as the reference text itself (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#troubleshooting-key-vault-references).
 * That text would pass for a secret (API_KEY_HMAC_SECRET's 32 characters), so every setting is refused by name.
 */
const KEY_VAULT_REFERENCE = /^\s*@Microsoft\.KeyVault\(/i;

function unresolvedKeyVaultReferences(env: Record<string, string | undefined>, names: readonly string[]): ConfigError | undefined {
  const unresolved = names.filter((name) => KEY_VAULT_REFERENCE.test(env[name] ?? ''));
  if (unresolved.length === 0) return undefined;
  return new ConfigError(
    unresolved.map((setting) => ({
      setting,
      message:
        'is a Key Vault reference that was not resolved: the platform could not read the secret (does the app\'s ' +
        'identity hold Key Vault Secrets User on the vault, and does the secret exist?). The app will not use the ' +
        "reference's text as the value",
    })),
  );
}


function toConfig(value: z.output<typeof configSchema>) {
  const connectionString = value.AZURE_STORAGE_CONNECTION_STRING ?? value.AzureWebJobsStorage;
  return {
    environment: value.TRACEPIPE_ENV,
    /** auth 'entra': connect with a Microsoft Entra access token as the password (absent: whatever the URL says). */
    database: {
      url: value.DATABASE_URL,
      poolMax: value.DATABASE_POOL_MAX,
      auth: value.DATABASE_AUTH === 'entra' ? ('entra' as const) : undefined,
    },
    /** Exactly one way to reach storage: a connection string (Azurite, or keys) or an account URL (managed identity). */
    storage: (value.AZURE_STORAGE_ACCOUNT_URL
      ? { accountUrl: value.AZURE_STORAGE_ACCOUNT_URL }
      : { connectionString: connectionString as string }) as { connectionString: string } | { accountUrl: string },
    apiKeyHmacSecret: value.API_KEY_HMAC_SECRET,
    stripe: value.STRIPE_SECRET_KEY
      ? {
          secretKey: value.STRIPE_SECRET_KEY,
          webhookSecret: value.STRIPE_WEBHOOK_SECRET,
          eventsWebhookSecret: value.STRIPE_EVENTS_WEBHOOK_SECRET,
        }
      : null,
    publicBaseUrl: value.PUBLIC_BASE_URL,
    cors: { allowedOrigins: value.CORS_ALLOWED_ORIGINS },
    /** null: Bearer tokens are not accepted. jwksUrl defaults to the issuer's OpenID discovery document's. */
    entra: value.ENTRA_ISSUER
      ? { issuer: value.ENTRA_ISSUER, audience: value.ENTRA_AUDIENCE as string, jwksUrl: value.ENTRA_JWKS_URL }
      : null,
    sessions: {
      uploadUrlTtlSeconds: value.SESSION_UPLOAD_URL_TTL_SECONDS,
      multipartMaxBytes: value.SESSION_MULTIPART_MAX_BYTES,
      uploadMaxBytes: value.SESSION_UPLOAD_MAX_BYTES,
    },
    billing: billingConfigOf(value),
    privacy: {
      defaultSessionRetentionDays: value.DEFAULT_SESSION_RETENTION_DAYS,
      defaultExampleRetentionDays: value.DEFAULT_EXAMPLE_RETENTION_DAYS,
    },
  };
}

const appConfigSchema = configSchema.transform(toConfig);

export function loadConfig(env: Record<string, string | undefined>): Config {
  const unresolved = unresolvedKeyVaultReferences(env, CONFIG_SETTING_NAMES);
  if (unresolved) throw unresolved;
  const parsed = appConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ setting: issue.path.join('.') || '(environment)', message: issue.message })),
    );
  }
  return parsed.data;
}

