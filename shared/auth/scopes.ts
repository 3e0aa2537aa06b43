import { API_KEY_SCOPES, type ApiKeyScope } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';

/**
 * Which scopes may call an operation (a REST route, an MCP tool, an A2P skill): one scope, or any of several.
 * Whatever declares nothing needs `api`, the scope of everything a user does; `pipeline` and `catalog:write` keys
 * reach only what names them. The matrix is in the README ("Scopes") and on every operation of the OpenAPI document.
 */
export type ScopeRequirement = ApiKeyScope | readonly ApiKeyScope[];

export const DEFAULT_SCOPE: ApiKeyScope = 'api';

/** Catalog reads: every key may make them, the pipelines service's too (it maps actions onto tools with them). */
export const ANY_SCOPE: readonly ApiKeyScope[] = API_KEY_SCOPES;

export function acceptedScopes(requirement: ScopeRequirement = DEFAULT_SCOPE): readonly ApiKeyScope[] {
  return typeof requirement === 'string' ? [requirement] : requirement;
}

export function holdsScope(held: readonly ApiKeyScope[], requirement: ScopeRequirement = DEFAULT_SCOPE): boolean {
  return acceptedScopes(requirement).some((scope) => held.includes(scope));
}

/** 403 unless the key holds one of the accepted scopes. */
export function assertScope(held: readonly ApiKeyScope[], requirement: ScopeRequirement = DEFAULT_SCOPE): void {
  if (holdsScope(held, requirement)) return;
  const accepted = acceptedScopes(requirement);
  const [first] = accepted;
  const named = accepted.length === 1 ? `the ${first} scope` : `one of the scopes ${accepted.join(', ')}`;
  throw ApiError.forbidden(`This API key lacks ${named}.`, {
    required_scope: first,
    ...(accepted.length > 1 ? { accepted_scopes: [...accepted] } : {}),
    key_scopes: [...held],
  });
}
