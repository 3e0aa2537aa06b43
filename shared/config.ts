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
    AZURE_STORAGE_CONNECTION_STRING: optionalString,
    AzureWebJobsStorage: optionalString,
    AZURE_STORAGE_ACCOUNT_URL: optionalString.pipe(z.url({ error: 'must be an https:// URL' }).optional()),
    API_KEY_HMAC_SECRET: z
      .string({ error: 'is required: a random secret of at least 32 characters that keys are hashed with' })
      .min(32, 'must be at least 32 characters'),
    STRIPE_SECRET_KEY: optionalString,
    STRIPE_WEBHOOK_SECRET: optionalString,
    PUBLIC_BASE_URL: optionalString.pipe(z.url({ error: 'must be a URL' }).optional()),
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
    if (env.ENTRA_ISSUER && !env.ENTRA_AUDIENCE) {
      ctx.addIssue({ code: 'custom', path: ['ENTRA_AUDIENCE'], message: 'is required with ENTRA_ISSUER' });
    }
  });

export type ConfigEnv = z.input<typeof configSchema>;

export interface Config {
  environment: 'development' | 'test' | 'production';
  database: { url: string; poolMax: number };
  /** Exactly one way to reach storage: a connection string (Azurite, or keys) or an account URL (managed identity). */
  storage: { connectionString: string } | { accountUrl: string };
  apiKeyHmacSecret: string;
  stripe: { secretKey: string; webhookSecret: string | undefined } | null;
  publicBaseUrl: string | undefined;
  /** null: Bearer tokens are not accepted. jwksUrl defaults to the issuer's OpenID discovery document's. */
  entra: { issuer: string; audience: string; jwksUrl: string | undefined } | null;
  sessions: { uploadUrlTtlSeconds: number; multipartMaxBytes: number; uploadMaxBytes: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: Array<{ setting: string; message: string }>) {
    super(
      'Invalid configuration:\n' + problems.map((problem) => `  - ${problem.setting} ${problem.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ setting: issue.path.join('.') || '(environment)', message: issue.message })),
    );
  }
  const value = parsed.data;
  const connectionString = value.AZURE_STORAGE_CONNECTION_STRING ?? value.AzureWebJobsStorage;
  return {
    environment: value.TRACEPIPE_ENV,
    database: { url: value.DATABASE_URL, poolMax: value.DATABASE_POOL_MAX },
    storage: value.AZURE_STORAGE_ACCOUNT_URL
      ? { accountUrl: value.AZURE_STORAGE_ACCOUNT_URL }
      : { connectionString: connectionString as string },
    apiKeyHmacSecret: value.API_KEY_HMAC_SECRET,
    stripe: value.STRIPE_SECRET_KEY
      ? { secretKey: value.STRIPE_SECRET_KEY, webhookSecret: value.STRIPE_WEBHOOK_SECRET }
      : null,
    publicBaseUrl: value.PUBLIC_BASE_URL,
    entra: value.ENTRA_ISSUER
      ? { issuer: value.ENTRA_ISSUER, audience: value.ENTRA_AUDIENCE as string, jwksUrl: value.ENTRA_JWKS_URL }
      : null,
    sessions: {
      uploadUrlTtlSeconds: value.SESSION_UPLOAD_URL_TTL_SECONDS,
      multipartMaxBytes: value.SESSION_MULTIPART_MAX_BYTES,
      uploadMaxBytes: value.SESSION_UPLOAD_MAX_BYTES,
    },
  };
}

let cached: Config | undefined;

/** The process's configuration, read from process.env on first use. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}
