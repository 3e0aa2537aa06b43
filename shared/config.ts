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
  };
}

let cached: Config | undefined;

/** The process's configuration, read from process.env on first use. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}
