import type { Kysely } from 'kysely';
import { generateApiKeySecret, hashApiKeySecret, maskApiKeySecret } from '../auth/apiKeySecret.js';
import type { AuthContext } from '../auth/authenticate.js';
import { assertPaymentMethodOnFile } from '../billing/paymentMethodRequirement.js';
import type { Config } from '../config.js';
import type { ApiKeyScope, Database } from '../db/schema.js';
import { ApiError } from '../errors/apiError.js';
import { toPage, type Page, type Pagination } from '../validation/pagination.js';
import {
  findActiveApiKey,
  findExistingSuiteIds,
  findKeyCreator,
  insertApiKey,
  listActiveApiKeys,
  revokeApiKey,
} from './apiKeyRepository.js';
import type { ApiKeyResponse, CreateApiKeyBody, CreatedApiKeyResponse } from './apiKeySchemas.js';

type KeyRow = Awaited<ReturnType<typeof insertApiKey>>;

function toApiKeyResponse(row: KeyRow): ApiKeyResponse {
  return {
    id: row.id,
    prefix: row.prefix,
    name: row.name,
    scopes: row.scopes,
    suite_ids: row.suite_ids,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
  };
}

/** Whether `granted` asks for nothing beyond what the caller holds (scopes and suites). */
function exceeds(
  caller: { scopes: ApiKeyScope[]; suiteIds: string[] | null },
  granted: { scopes: ApiKeyScope[]; suiteIds: string[] | null },
): { scopes: ApiKeyScope[]; suites: boolean } {
  const scopes = granted.scopes.filter((scope) => !caller.scopes.includes(scope));
  const suites =
    caller.suiteIds !== null &&
    (granted.suiteIds === null || granted.suiteIds.some((id) => !caller.suiteIds?.includes(id)));
  return { scopes, suites };
}

export async function createApiKey(
  db: Kysely<Database>,
  config: Config,
  auth: AuthContext,
  body: CreateApiKeyBody,
): Promise<CreatedApiKeyResponse> {
  const creator = await findKeyCreator(db, auth.userId);
  if (!creator) throw ApiError.unauthorized();
  assertPaymentMethodOnFile(config, creator);

  // A key never grants more than the key (or the user, for a Bearer token) that creates it holds.
  const holds = { scopes: auth.scopes.filter((scope) => creator.scopes.includes(scope)), suiteIds: auth.suiteIds };
  const excess = exceeds(holds, { scopes: body.scopes, suiteIds: body.suite_ids });
  if (excess.scopes.length > 0) {
    throw ApiError.forbidden('A key cannot grant scopes its creator lacks.', { scopes: excess.scopes });
  }
  if (excess.suites) {
    throw ApiError.forbidden('This key is limited to some suites; a key it creates must be limited to them too.', {
      allowed_suite_ids: auth.suiteIds,
    });
  }
  if (body.suite_ids) {
    const existing = await findExistingSuiteIds(db, body.suite_ids);
    const unknown = body.suite_ids.filter((id) => !existing.includes(id));
    if (unknown.length > 0) {
      throw ApiError.validation('Some suites do not exist.', {
        fields: [{ location: 'body', field: 'suite_ids', message: `unknown suites: ${unknown.join(', ')}` }],
      });
    }
  }

  const secret = generateApiKeySecret();
  const row = await insertApiKey(db, {
    user_id: auth.userId,
    name: body.name,
    prefix: maskApiKeySecret(secret),
    key_hash: hashApiKeySecret(secret, config.apiKeyHmacSecret),
    scopes: body.scopes,
    suite_ids: body.suite_ids,
  });
  return { ...toApiKeyResponse(row), key: secret };
}

export async function listApiKeys(
  db: Kysely<Database>,
  auth: AuthContext,
  pagination: Pagination,
): Promise<Page<ApiKeyResponse>> {
  const { rows, total } = await listActiveApiKeys(db, auth.userId, pagination);
  return toPage(rows.map(toApiKeyResponse), total, pagination);
}

/** Revokes one of the user's keys; a key may revoke only keys that hold no more than it does. */
export async function revokeUserApiKey(db: Kysely<Database>, auth: AuthContext, id: string): Promise<void> {
  const target = await findActiveApiKey(db, auth.userId, id);
  if (!target) throw ApiError.notFound('No such API key.');
  const excess = exceeds(auth, { scopes: target.scopes, suiteIds: target.suite_ids });
  if (excess.scopes.length > 0 || excess.suites) {
    throw ApiError.forbidden('A key can revoke only keys that hold no more than it does.');
  }
  if (!(await revokeApiKey(db, auth.userId, id))) throw ApiError.notFound('No such API key.');
}
