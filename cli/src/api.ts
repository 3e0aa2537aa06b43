/**
 * The typed client as the CLI uses it: built from the settings, with the client's own 429/503 retries (each
 * retry told on stderr), and every answer either its data or a CliError (the API's error `code` kept).
 */
import { createTracepipeClient, type TracepipeClient } from '../../clients/typescript/src/index.js';
import { CliError } from './cliError.js';
import type { Settings } from './settings.js';

export const USER_AGENT = 'tracepipe-cli/0.1.0';

export interface Api {
  client: TracepipeClient;
  baseUrl: string;
}

export function connect(settings: Settings, log: (line: string) => void): Api {
  if (!settings.apiKey) {
    throw CliError.usage('No API key: set TRACEPIPE_API_KEY or run `tracepipe login`.');
  }
  const client = createTracepipeClient({
    baseUrl: settings.baseUrl,
    apiKey: settings.apiKey,
    userAgent: USER_AGENT,
    retry: {
      onRetry: ({ status, attempt, delayMs }) =>
        log(`${status === 'network' ? 'the API did not answer' : `the API answered ${status}`}; trying again in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1})`),
    },
  });
  return { client, baseUrl: settings.baseUrl };
}

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The contract's error shape, `{ error: { code, message, details } }`, as a CliError of kind `api`. */
export function apiErrorOf(response: Response, body: unknown): CliError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string') {
    const message = typeof error.message === 'string' ? error.message : `HTTP ${response.status}`;
    return new CliError('api', message, error.code, error.details);
  }
  return new CliError('api', `The API answered HTTP ${response.status}.`, `http_${response.status}`);
}

export function networkErrorOf(error: unknown, where: string): CliError {
  if (error instanceof CliError) return error;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  return new CliError('network', `Cannot reach ${where}: ${reason}`, 'network_error');
}

/** The answer's data, or the API's error (or the network's) as a CliError. */
export async function unwrap<T>(api: Api, pending: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await pending;
  } catch (error) {
    throw networkErrorOf(error, api.baseUrl);
  }
  if (!result.response.ok) throw apiErrorOf(result.response, result.error);
  return result.data as T;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A suite named by id or by name (the API compares names case-insensitively). */
export async function resolveSuiteId(api: Api, suite: string): Promise<string> {
  if (isUuid(suite)) return suite;
  const page = await unwrap(api, api.client.GET('/v1/suites', { params: { query: { name: suite, per_page: 100 } } }));
  const found = page.items[0];
  if (!found) throw CliError.usage(`No suite named ${JSON.stringify(suite)} (the names are in GET /v1/suites).`);
  return found.id;
}

/** A model named by id, by `provider/name` as usage shows it (openai/gpt-4o), or by its name alone. */
export async function resolveModelId(api: Api, model: string): Promise<string> {
  if (isUuid(model)) return model;
  const wanted = model.toLowerCase();
  for (let page = 1; ; page += 1) {
    const models = await unwrap(api, api.client.GET('/v1/models', { params: { query: { page, per_page: 100 } } }));
    const found = models.items.find((item) => item.usage_name.toLowerCase() === wanted || item.name.toLowerCase() === wanted);
    if (found) return found.id;
    if (page * models.per_page >= models.total) break;
  }
  throw CliError.usage(`No model named ${JSON.stringify(model)} (use provider/name, e.g. openai/gpt-4o, or an id).`);
}
