import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { ERROR_STATUS } from '../errors/apiError.js';
import { forGenerators } from './generatorFriendly.js';
import { z } from './zod.js';

/**
 * The one registry: each route registers its zod schemas here next to its handler (shared/http/defineRoute.ts),
 * and /v1/openapi.json is generated from it. Nothing in the document is written by hand.
 */
export const openApiRegistry = new OpenAPIRegistry();

const pendingRegistrations: Array<() => void> = [];

/**
 * Registers an operation when the document is first generated instead of when its module loads: loading the
 * functions is the Azure cold start, and the document is only read when someone asks for it. Registrations keep
 * their order, so the document is the same.
 */
export function registerWhenDocumented(register: () => void): void {
  pendingRegistrations.push(register);
}

/** The API's version, in the OpenAPI document and the A2A agent card. */
export const API_VERSION = '1.0.0';

export const API_KEY_SECURITY = 'ApiKey';
export const BEARER_SECURITY = 'EntraBearer';

openApiRegistry.registerComponent('securitySchemes', API_KEY_SECURITY, {
  type: 'apiKey',
  in: 'header',
  name: 'X-API-Key',
  description: 'An API key (`tp_live_sk_...`), created with POST /v1/api-keys and shown once.',
});
openApiRegistry.registerComponent('securitySchemes', BEARER_SECURITY, {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description: 'A Microsoft Entra External ID token, for the storefront.',
});

function responseHeader(name: string, type: 'string' | 'integer', description: string): { $ref: string } {
  return openApiRegistry.registerComponent('headers', name, { description, schema: { type } }).ref;
}

/** Response headers, declared once and referred to from every response that carries them. */
export const RESPONSE_HEADERS = {
  requestId: responseHeader(
    'X-Request-Id',
    'string',
    'The id of this request (the function invocation id); quote it when reporting a problem.',
  ),
  rateLimitLimit: responseHeader(
    'X-RateLimit-Limit',
    'integer',
    'Requests allowed per minute for this key in the bucket this operation counts against.',
  ),
  rateLimitRemaining: responseHeader('X-RateLimit-Remaining', 'integer', 'Requests left in the current minute.'),
  rateLimitReset: responseHeader('X-RateLimit-Reset', 'integer', 'When the current minute ends, in unix seconds.'),
  retryAfter: responseHeader('Retry-After', 'integer', 'Seconds to wait before retrying.'),
  wwwAuthenticate: responseHeader(
    'WWW-Authenticate',
    'string',
    'The credential expected (RFC 9110): `ApiKey realm="tracepipe", header="X-API-Key"` where an API key is ' +
      'expected, `Bearer realm="tracepipe"` where an Entra ID token is.',
  ),
} as const;

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...Array<keyof typeof ERROR_STATUS>]),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error', { description: 'Every error has this shape.' });

const API_DESCRIPTION = `Tracepipe turns recordings of people using web applications into fine-tuning data for AI agents.

**Authentication.** Every endpoint except health, this document, the docs and the agent card needs an API key in
\`X-API-Key: tp_live_sk_...\` (or \`Authorization: Bearer tp_live_sk_...\`). The storefront may send a Microsoft
Entra External ID token as \`Authorization: Bearer <token>\` instead.

**Scopes.** Each operation states the scopes that may call it (its \`security\`, one requirement per accepted
scope, and a **Scope** line in its description); without one of them the answer is 403 with
\`details.required_scope\`. Catalog reads take any key; catalog writes need \`catalog:write\`; the pipelines report
needs \`pipeline\`; everything else needs \`api\`.

**Errors** always have the shape \`{ "error": { "code", "message", "details" } }\`; \`details.fields\` names invalid
fields (400 when missing, 422 when invalid). Text must be free of NUL characters and well-formed Unicode (422
otherwise); free-form objects nest at most 32 deep; integers in queries are decimal digits. Another user's data is
404. A body over the operation's limit is 413, on its Content-Length before it is read, else at the byte that crosses
the limit; request headers over 16 KiB are 431 (the local host; Azure's front ends have their own). 503 means a
dependency is down: retry after \`Retry-After\`. A 401 names the expected credential in \`WWW-Authenticate\`.

**Lists** take \`page\` and \`per_page\` (1 to 100, default 20) and answer \`{ items, total, page, per_page }\`,
newest first.

**Rate limits** per key and minute: session creation 10, API-key management 10, everything else 100. Every
authenticated response carries \`X-RateLimit-Limit\`, \`X-RateLimit-Remaining\` and \`X-RateLimit-Reset\`; over the
limit the answer is 429 with \`Retry-After\`.

**Uploading a trace.** \`POST /v1/sessions\` with JSON returns a session in \`awaiting_upload\` and an \`upload\`
description: a SAS URL that allows creating and writing that one blob, for a short time. PUT the JSONL file there
with the given headers (\`x-ms-blob-type: BlockBlob\`), or stage blocks with the Azure Storage SDK
(\`BlockBlobClient(url).uploadFile\`) for large files on flaky networks; the API never sees the bytes. Smaller files
can go through the API as \`multipart/form-data\`. Either way the session is then indexed (\`processing\`) and
ends \`ready\` or \`invalid\` with line-numbered errors.

**The pipelines hand-off.** \`POST /v1/examples\` puts a job on the storage queue \`example-jobs\` for the pipelines
service, which reports back with \`PATCH /v1/pipeline/examples/{id}\` (a key with the \`pipeline\` scope):
PENDING -> PROCESSING -> COMPLETED | FAILED. COMPLETED is accepted only when \`examples/<id>/messages.jsonl\`
holds valid training messages; token usage is recorded once and billed monthly.

**Billing.** With billing on, creating sessions (storage) and examples (tokens) needs a payment method and a
subscription that bills (\`active\`; \`past_due\` for a grace period): otherwise 402 \`payment_required\`, with
\`details.reason\`. Subscriptions are anchored to the 1st of the month, 00:00 UTC, so invoices cover the calendar
months \`GET /v1/usage\` shows (the first from the first card to the next 1st); usage before a subscription is not
billed, and a month's \`estimated_cost\` is what its invoices say for the same usage.`;

const TAGS = [
  { name: 'Sessions', description: 'Trace uploads (SAS or multipart) and their indexing.' },
  { name: 'Catalog', description: 'Suites, actions, MCP servers, tools, action-tool maps and models.' },
  { name: 'Suites', description: 'Catalog: applications and their canonical actions.' },
  { name: 'MCP servers', description: 'Catalog: tool surfaces and their tools.' },
  { name: 'Action-tool maps', description: 'Catalog: how a suite\'s actions map onto a server\'s tools.' },
  { name: 'Models', description: 'Catalog: the models examples can be generated with.' },
  { name: 'Examples', description: 'Training examples: requests, status and messages.' },
  { name: 'Datasets', description: 'Many completed examples in one fine-tuning format, built in the background.' },
  { name: 'Pipelines', description: 'The pipelines service reports results here.' },
  { name: 'Users', description: 'Registration and the current user.' },
  { name: 'API keys', description: 'Create, list and revoke keys.' },
  { name: 'Billing', description: 'Usage, invoices, payment methods.' },
  { name: 'Agents', description: 'MCP and agent-to-platform (A2A) endpoints.' },
  { name: 'Meta', description: 'Health, this document and the interactive reference.' },
];

export function generateOpenApiDocument(serverUrl?: string): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  for (const register of pendingRegistrations.splice(0)) register();
  const generator = new OpenApiGeneratorV31(openApiRegistry.definitions);
  const document = generator.generateDocument({
    openapi: '3.1.0',
    info: { title: 'Tracepipe API', version: API_VERSION, description: API_DESCRIPTION },
    servers: [{ url: serverUrl ?? '/' }],
  });
  // Only the tags some operation uses, in the contract's order.
  const used = new Set(Object.values(document.paths ?? {}).flatMap((item) => Object.values(item ?? {}).flatMap((op) => (op as { tags?: string[] }).tags ?? [])));
  return forGenerators({ ...document, tags: TAGS.filter((tag) => used.has(tag.name)) });
}
