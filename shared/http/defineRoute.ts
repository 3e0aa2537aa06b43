import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import {
  authenticateEntraIdentity,
  authenticateRequest,
  rateLimitHeaders,
  type AuthContext,
} from '../auth/authenticate.js';
import type { EntraIdentity } from '../auth/entraTokens.js';
import type { RateLimitBucket } from '../auth/rateLimitBuckets.js';
import { assertMayIncurCost } from '../billing/costPermission.js';
import { getStripe } from '../billing/stripeClient.js';
import { getConfig } from '../config.js';
import { getDb } from '../db/index.js';
import type { ApiKeyScope } from '../db/schema.js';
import { ApiError, ERROR_STATUS, type ErrorCode } from '../errors/apiError.js';
import { API_KEY_SECURITY, BEARER_SECURITY, ErrorSchema, openApiRegistry } from '../openapi/registry.js';
import { errorToResponse } from './errorResponse.js';
import { queryToObject, readJsonBody, validateInput } from './requestParsing.js';

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
  request: HttpRequest;
  context: InvocationContext;
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
  /** A scope the key must hold besides being valid (403 without it). */
  scope?: ApiKeyScope;
  /** The per-key rate limit this operation counts against; `default` unless said. */
  rateLimit?: RateLimitBucket;
  /**
   * The operation costs money (storage, tokens): before the handler runs, the caller must be allowed to incur
   * cost now (shared/billing/costPermission.ts), else 402 `payment_required`. Only with `auth: 'apiKey'`.
   */
  billable?: boolean;
  params?: P;
  query?: Q;
  /** A JSON body schema. Routes with other bodies (multipart) read `request` themselves and pass none. */
  body?: B;
  /** The body may be left out entirely; it then reads as `{}`. */
  bodyOptional?: boolean;
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
  rate_limited: 'Over the key\'s rate; retry after `Retry-After` seconds.',
  internal_error: 'A bug on our side; the request id is in `details`.',
  unavailable: 'A dependency (database, storage, Stripe) is down; retry later.',
};

function documentedErrors(definition: RouteDefinition<Schema, Schema, Schema, AuthMode>): ErrorCode[] {
  const codes = new Set<ErrorCode>(definition.errors ?? []);
  if (definition.auth !== 'public') codes.add('unauthorized');
  if (definition.auth === 'apiKey') codes.add('rate_limited');
  if (definition.scope) codes.add('forbidden');
  if (definition.billable) codes.add('payment_required');
  if (definition.body) codes.add('bad_request');
  if (definition.body || definition.query || definition.params) codes.add('validation_error');
  codes.add('unavailable');
  return [...codes].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b]);
}

function registerOpenApiPath(definition: RouteDefinition<Schema, Schema, Schema, AuthMode>): void {
  const responses: RouteConfig['responses'] = {};
  for (const [status, doc] of Object.entries(definition.responses)) {
    responses[status] = doc.schema
      ? { description: doc.description, content: { [doc.contentType ?? 'application/json']: { schema: doc.schema } } }
      : { description: doc.description };
  }
  for (const code of documentedErrors(definition)) {
    responses[ERROR_STATUS[code]] = {
      description: ERROR_DESCRIPTIONS[code],
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
    description: definition.description,
    security: SECURITY_BY_AUTH[definition.auth],
    ...definition.openapi,
    // The operation's own request parts (headers, or a non-JSON body) join those drawn from its schemas.
    request: { ...request, ...definition.openapi?.request },
    // A response documented there (one with two media types, say) replaces the one drawn from `responses`.
    responses: { ...responses, ...definition.openapi?.responses },
  });
}

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
  registerOpenApiPath(definition as RouteDefinition<Schema, Schema, Schema, AuthMode>);
  app.http(definition.operationId, {
    methods: [definition.method],
    route: definition.path.replace(/^\//, ''),
    authLevel: 'anonymous',
    handler: async (request, context) => {
      let response: HttpResponseInit;
      let auth: AuthContext | EntraIdentity | null = null;
      let limitHeaders: Record<string, string> = {};
      try {
        if (definition.auth === 'apiKey') {
          const context = await authenticateRequest(request, definition.rateLimit ?? 'default');
          limitHeaders = rateLimitHeaders(context.rateLimit);
          auth = context;
          if (definition.scope && !context.scopes.includes(definition.scope)) {
            throw ApiError.forbidden(`This API key lacks the ${definition.scope} scope.`, {
              required_scope: definition.scope,
            });
          }
        } else if (definition.auth === 'entraIdentity') {
          auth = await authenticateEntraIdentity(request);
        }
        const params = definition.params ? validateInput(definition.params, request.params, 'path') : undefined;
        const query = definition.query
          ? validateInput(definition.query, queryToObject(request.query), 'query')
          : undefined;
        const body = definition.body
          ? validateInput(definition.body, await readJsonBody(request, { optional: definition.bodyOptional }), 'body')
          : undefined;
        if (definition.billable && auth !== null && 'userId' in auth) {
          await assertMayIncurCost({ db: getDb(), config: getConfig(), stripe: getStripe() }, auth.userId);
        }
        response = await definition.handler({
          params: params as Infer<P>,
          query: query as Infer<Q>,
          body: body as Infer<B>,
          auth: auth as RouteInput<P, Q, B, A>['auth'],
          request,
          context,
        });
      } catch (error) {
        response = errorToResponse(error, context);
      }
      return withHeaders(response, { ...limitHeaders, 'X-Request-Id': context.invocationId });
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
