import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { ReadableStream } from 'node:stream/web';
import type { z } from 'zod';
import {
  authenticateEntraIdentity,
  authenticateRequest,
  rateLimitHeaders,
  type AuthContext,
} from '../auth/authenticate.js';
import type { EntraIdentity } from '../auth/entraTokens.js';
import type { RateLimitBucket } from '../auth/rateLimitBuckets.js';
import { acceptedScopes, assertScope, type ScopeRequirement } from '../auth/scopes.js';
import { ERROR_STATUS, type ErrorCode } from '../errors/apiError.js';
import {
  API_KEY_SECURITY,
  BEARER_SECURITY,
  ErrorSchema,
  openApiRegistry,
  registerWhenDocumented,
  RESPONSE_HEADERS,
} from '../openapi/registry.js';
import { assertMayIncurCost } from '../billing/costPermission.js';
import { errorToResponse } from './errorResponse.js';
import { assertDeclaredLengthWithin, limitBody, MAX_JSON_BODY_BYTES } from './requestBody.js';
import { queryToObject, readJsonBody } from './requestParsing.js';
import type { Config } from '../config.js';
import { invocationDeps, type InvocationDeps } from '../runtime/appDeps.js';
import { validateInput } from '../validation/validateInput.js';
import { isNodeReadable, withProxyBackpressure } from './streamedResponseBody.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** apiKey: a key or a registered user's token; entraIdentity: a verified Entra token, account or not. */
type AuthMode = 'apiKey' | 'entraIdentity' | 'public';
type Schema = z.ZodType | undefined;
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface RouteResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json when a schema is given. */
  contentType?: string;
}

export interface RouteInput<P extends Schema, Q extends Schema, B extends Schema, A extends AuthMode> {
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
  auth: A extends 'apiKey' ? AuthContext : A extends 'entraIdentity' ? EntraIdentity : null;
  /**
   * For routes that read their body themselves (`maxBodyBytes` without `body`): the request's body, cut at the
   * limit with a 413 as it streams. Read it, not `request.body`. Null otherwise, and for an empty request.
   */
  bodyStream: ReadableStream<Uint8Array> | null;
  request: HttpRequest;
  context: InvocationContext;
  /** What the handler's services work with (shared/runtime/appDeps.ts), with this invocation's logger. */
  deps: InvocationDeps;
}

export interface RouteDefinition<P extends Schema, Q extends Schema, B extends Schema, A extends AuthMode> {
  /** The Azure function name and the OpenAPI operationId. */
  operationId: string;
  method: Method;
  /** OpenAPI-style path, e.g. `/v1/sessions/{id}`; the Functions route is the same without the leading slash. */
  path: string;
  tags: string[];
  summary: string;
  description: string;
  auth: A;
  /**
   * The scope the key must hold (403 without it), or several of which it must hold one. Routes that declare none
   * need `api`, the scope of everything a user does (shared/auth/scopes.ts). Only for `auth: 'apiKey'`.
   */
  scope?: ScopeRequirement;
  /** The per-key rate limit this operation counts against; `default` unless said. */
  rateLimit?: RateLimitBucket;
  /**
   * The operation costs money (storage, tokens): before the handler runs, the caller must be allowed to incur
   * cost now (shared/billing/costPermission.ts), else 402 `payment_required`, or `budget_exceeded` once a hard
   * monthly budget is reached. Only with `auth: 'apiKey'`.
   */
  billable?: boolean;
  params?: P;
  query?: Q;
  /** A JSON body schema. Routes with other bodies (multipart) read `request` themselves and pass none. */
  body?: B;
  /** The body may be left out entirely; it then reads as `{}`. */
  bodyOptional?: boolean;
  /**
   * The most bytes of body this route reads: 413 above it, on a declared Content-Length before anything else and
   * on the stream as it is read. JSON `body` routes default to 1 MiB; a route that reads its body itself must set
   * it (a limit that depends on configuration is a function, with the words the document uses for it).
   */
  maxBodyBytes?: number | { bytes: (config: Config) => number; documented: string };
  /** Success responses by status. */
  responses: Record<number, RouteResponseDoc>;
  /** Error responses beyond those implied by auth and input (401, 400, 422, 503). */
  errors?: ErrorCode[];
  /** Extra OpenAPI fields for the operation (request body docs for non-JSON bodies, examples...). */
  openapi?: Partial<RouteConfig>;
  handler: (input: RouteInput<P, Q, B, A>) => Promise<HttpResponseInit>;
}

const SECURITY_BY_AUTH: Record<AuthMode, RouteConfig['security']> = {
  apiKey: [{ [API_KEY_SECURITY]: [] }, { [BEARER_SECURITY]: [] }],
  entraIdentity: [{ [BEARER_SECURITY]: [] }],
  public: [],
};

const ERROR_DESCRIPTIONS: Record<ErrorCode, string> = {
  bad_request: 'Malformed body, missing field or wrong content type.',
  unauthorized: 'Missing, unknown or revoked API key.',
  forbidden: 'The key is valid but its scopes or suite restriction do not allow this.',
  not_found: 'No such resource, or it belongs to someone else.',
  conflict: 'The resource is in the wrong state for this, or is still referenced.',
  payload_too_large: 'The body is over the limit.',
  validation_error: 'Well-formed but invalid values; `details.fields` names them.',
  payment_required:
    'Billing is on and the account may not incur cost now: no payment method, no active subscription, or a ' +
    'failed payment past its grace period (`details.reason`).',
  budget_exceeded:
    'The account\'s hard monthly budget is reached (GET|PUT /v1/billing/budget): new paid work is refused until ' +
    'the next month or a higher limit; `details` has the `limit` and what is `used`, in minor units.',
  rate_limited: 'Over the key\'s rate; retry after `Retry-After` seconds.',
  headers_too_large: 'The request headers are over the host\'s limit.',
  internal_error: 'A bug on our side; the request id is in `details`.',
  unavailable: 'A dependency (database, storage, Stripe) is down; retry later.',
};

type AnyRoute = RouteDefinition<Schema, Schema, Schema, AuthMode>;

/** The route's body limit in bytes, or undefined for routes that read no body. */
function bodyLimitOf(definition: AnyRoute, config: Config): number | undefined {
  const limit = definition.maxBodyBytes;
  if (limit === undefined) return definition.body ? MAX_JSON_BODY_BYTES : undefined;
  return typeof limit === 'number' ? limit : limit.bytes(config);
}

function documentedBodyLimit(definition: AnyRoute): string | undefined {
  const limit = definition.maxBodyBytes;
  if (limit === undefined) return definition.body ? `${MAX_JSON_BODY_BYTES} bytes` : undefined;
  return typeof limit === 'number' ? `${limit} bytes` : limit.documented;
}

function documentedErrors(definition: AnyRoute): ErrorCode[] {
  const codes = new Set<ErrorCode>(definition.errors ?? []);
  if (definition.auth !== 'public') codes.add('unauthorized');
  if (definition.auth === 'apiKey') codes.add('rate_limited');
  // Every key holds a scope, but not always one that this operation accepts.
  if (definition.auth === 'apiKey') codes.add('forbidden');
  if (documentedBodyLimit(definition)) codes.add('payload_too_large');
  if (definition.billable) {
    codes.add('payment_required');
    codes.add('budget_exceeded');
  }
  if (definition.body) codes.add('bad_request');
  if (definition.body || definition.query || definition.params) codes.add('validation_error');
  codes.add('unavailable');
  return [...codes].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b]);
}

/** How the document states the security of an operation: each scope it accepts, with either credential. */
function securityOf(definition: AnyRoute): RouteConfig['security'] {
  if (definition.auth !== 'apiKey') return SECURITY_BY_AUTH[definition.auth];
  const scopes = acceptedScopes(definition.scope);
  // OpenAPI 3.1 lets non-OAuth requirements list "role names"; alternatives are separate requirement objects.
  return [API_KEY_SECURITY, BEARER_SECURITY].flatMap((scheme) => scopes.map((scope) => ({ [scheme]: [scope] })));
}

function scopeSentence(definition: AnyRoute): string {
  if (definition.auth !== 'apiKey') return '';
  const scopes = acceptedScopes(definition.scope).map((scope) => `\`${scope}\``);
  return `\n\n**Scope:** ${scopes.length === 1 ? scopes[0] : `any of ${scopes.join(', ')}`}.`;
}

/**
 * The headers each response documents: the request id always; the rate-limit state on every response of an
 * API-key operation once the key is known (all but 401, and a 413 refused on its Content-Length before the key
 * is read); Retry-After with 429 and 503; the expected credential with 401.
 */
function headersOf(definition: AnyRoute, status: string): Record<string, { $ref: string }> {
  const headers: Record<string, { $ref: string }> = { 'X-Request-Id': RESPONSE_HEADERS.requestId };
  if (definition.auth === 'apiKey' && status !== '401') {
    headers['X-RateLimit-Limit'] = RESPONSE_HEADERS.rateLimitLimit;
    headers['X-RateLimit-Remaining'] = RESPONSE_HEADERS.rateLimitRemaining;
    headers['X-RateLimit-Reset'] = RESPONSE_HEADERS.rateLimitReset;
  }
  if (status === '429' || status === '503') headers['Retry-After'] = RESPONSE_HEADERS.retryAfter;
  if (status === '401') headers['WWW-Authenticate'] = RESPONSE_HEADERS.wwwAuthenticate;
  return headers;
}

function errorDescription(definition: AnyRoute, code: ErrorCode): string {
  if (code !== 'payload_too_large') return ERROR_DESCRIPTIONS[code];
  return (
    `The body is over ${documentedBodyLimit(definition)}: refused on its Content-Length before it is read, or at ` +
    'the byte that crosses the limit.'
  );
}

function registerOpenApiPath(definition: AnyRoute): void {
  const responses: RouteConfig['responses'] = {};
  for (const [status, doc] of Object.entries(definition.responses)) {
    responses[status] = doc.schema
      ? { description: doc.description, content: { [doc.contentType ?? 'application/json']: { schema: doc.schema } } }
      : { description: doc.description };
  }
  for (const code of documentedErrors(definition)) {
    // Two codes may share a status (402: payment_required, budget_exceeded): one response says both.
    const earlier = responses[ERROR_STATUS[code]] as ResponseConfig | undefined;
    const description = `\`${code}\`: ${errorDescription(definition, code)}`;
    responses[ERROR_STATUS[code]] = {
      description: earlier ? `${earlier.description} Or ${description}` : ERROR_STATUS[code] === 402 ? description : errorDescription(definition, code),
      content: { 'application/json': { schema: ErrorSchema } },
    };
  }
  const request: RouteConfig['request'] = {
    // The request schemas are zod objects by contract of RouteDefinition; the registry types want ZodObject.
    ...(definition.params ? { params: definition.params as never } : {}),
    ...(definition.query ? { query: definition.query as never } : {}),
    ...(definition.body
      ? {
          body: {
            required: !definition.bodyOptional,
            content: { 'application/json': { schema: definition.body } },
          },
        }
      : {}),
  };
  openApiRegistry.registerPath({
    method: definition.method.toLowerCase() as Lowercase<Method>,
    path: definition.path,
    operationId: definition.operationId,
    tags: definition.tags,
    summary: definition.summary,
    description: definition.description + scopeSentence(definition),
    security: securityOf(definition),
    ...definition.openapi,
    // The operation's own request parts (headers, or a non-JSON body) join those drawn from its schemas.
    request: { ...request, ...definition.openapi?.request },
    // A response documented there (one with two media types, say) replaces the one drawn from `responses`.
    responses: Object.fromEntries(
      Object.entries({ ...responses, ...definition.openapi?.responses }).map(([status, response]) => [
        status,
        // Every response here is a ResponseConfig (none is a $ref), so it can carry headers.
        { ...response, headers: { ...headersOf(definition, status), ...(response as ResponseConfig).headers } },
      ]),
    ),
  });
}

/** Challenges of a 401 (RFC 9110 section 11.6.1), so that a client can tell which credential to send. */
const CHALLENGE_BY_AUTH: Record<AuthMode, string | undefined> = {
  apiKey: 'ApiKey realm="tracepipe", header="X-API-Key"',
  entraIdentity: 'Bearer realm="tracepipe"',
  public: undefined,
};

/**
 * Declares one HTTP endpoint: registers the Azure function (route and method) and its OpenAPI operation from the
 * same zod schemas that then validate its input. The handler gets parsed input and the caller's identity and
 * returns a response; whatever it throws is rendered in the contract's error shape.
 */
export function defineRoute<
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
  A extends AuthMode = 'apiKey',
>(
  definition: RouteDefinition<P, Q, B, A>,
): void {
  const route = definition as AnyRoute;
  if (definition.openapi?.request?.body && !definition.body && definition.maxBodyBytes === undefined) {
    throw new Error(`${definition.operationId} reads a body: declare its maxBodyBytes.`);
  }
  if (definition.scope !== undefined && definition.auth !== 'apiKey') {
    throw new Error(`${definition.operationId}: scopes apply to API-key routes only.`);
  }
  registerWhenDocumented(() => registerOpenApiPath(route));
  app.http(definition.operationId, {
    methods: [definition.method],
    route: definition.path.replace(/^\//, ''),
    authLevel: 'anonymous',
    handler: async (request, context) => {
      let response: HttpResponseInit;
      let auth: AuthContext | EntraIdentity | null = null;
      let limitHeaders: Record<string, string> = {};
      try {
        const deps = invocationDeps(context);
        const bodyLimit = bodyLimitOf(route, deps.config);
        // Before the caller is known: a body too large to read costs nothing, whoever sends it.
        if (bodyLimit !== undefined) assertDeclaredLengthWithin(request.headers, bodyLimit);
        if (definition.auth === 'apiKey') {
          const { caller, rateLimit } = await authenticateRequest(deps, request, definition.rateLimit ?? 'default');
          limitHeaders = rateLimitHeaders(rateLimit);
          auth = caller;
          assertScope(caller.scopes, definition.scope);
        } else if (definition.auth === 'entraIdentity') {
          auth = await authenticateEntraIdentity(deps.config, request);
        }
        const params = definition.params ? validateInput(definition.params, request.params, 'path') : undefined;
        const query = definition.query
          ? validateInput(definition.query, queryToObject(request.query), 'query')
          : undefined;
        const body = definition.body
          ? validateInput(
              definition.body,
              await readJsonBody(request, { optional: definition.bodyOptional, maxBytes: bodyLimit }),
              'body',
            )
          : undefined;
        if (definition.billable && auth !== null && 'userId' in auth) {
          await assertMayIncurCost({ db: deps.db, config: deps.config, stripe: await deps.stripe.client(), clock: deps.clock }, auth.userId);
        }
        response = await definition.handler({
          params: params as Infer<P>,
          query: query as Infer<Q>,
          body: body as Infer<B>,
          auth: auth as RouteInput<P, Q, B, A>['auth'],
          bodyStream: !definition.body && bodyLimit !== undefined ? limitBody(request.body, bodyLimit) : null,
          request,
          context,
          deps,
        });
      } catch (error) {
        response = errorToResponse(error, context);
      }
      const challenge = response.status === 401 ? CHALLENGE_BY_AUTH[definition.auth] : undefined;
      // A streamed body (a storage download) goes out no faster than the client takes it.
      if (isNodeReadable(response.body)) response = { ...response, body: withProxyBackpressure(response.body, context.invocationId) };
      return withHeaders(response, {
        ...limitHeaders,
        'X-Request-Id': context.invocationId,
        ...(challenge ? { 'WWW-Authenticate': challenge } : {}),
      });
    },
  });
}

/** Every response carries the request id and, once the caller is known, its rate-limit state. */
function withHeaders(response: HttpResponseInit, extra: Record<string, string>): HttpResponseInit {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(extra)) {
    if (!headers.has(name)) headers.set(name, value);
  }
  return { ...response, headers };
}
