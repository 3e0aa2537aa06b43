import { previewRetention } from '../shared/privacy/retention.js';
import { RetentionPreviewSchema } from '../shared/privacy/retentionSchemas.js';
import { EraseUserBody } from '../shared/privacy/userErasureSchemas.js';
import { requestErasure } from '../shared/privacy/userErasure.js';
import { getUserSettings, updateUserSettings } from '../shared/privacy/userSettings.js';
import {
  MAX_RETENTION_DAYS,
  MIN_RETENTION_DAYS,
  UpdateUserSettingsBody,
  UserSettingsSchema,
} from '../shared/privacy/userSettingsSchemas.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { RegisterUserBodySchema, UserSchema } from '../shared/users/userSchemas.js';
import { getCurrentUser, registerUser, toUserResponse } from '../shared/users/userService.js';

defineRoute({
  operationId: 'registerUser',
  method: 'POST',
  path: '/v1/users',
  tags: ['Users'],
  summary: 'Register the signed-in storefront user',
  description:
    'Creates the user for the Entra External ID identity of the Bearer token (issuer + `oid`), or returns the ' +
    'existing one: 201 when created, 200 when it already existed. Safe to call on every sign-in and under ' +
    'concurrency. Only a Bearer token is accepted here, never an API key.',
  auth: 'entraIdentity',
  body: RegisterUserBodySchema,
  bodyOptional: true,
  responses: {
    200: { description: 'The user already existed.', schema: UserSchema },
    201: { description: 'The user was created.', schema: UserSchema },
  },
  handler: async ({ auth, body, deps }) => {
    const { user, created } = await registerUser({ db: deps.db, stripe: await deps.stripe.client(), privacy: deps.config.privacy }, auth, body);
    return jsonResponse(created ? 201 : 200, user);
  },
});

defineRoute({
  operationId: 'getCurrentUser',
  method: 'GET',
  path: '/v1/users/me',
  tags: ['Users'],
  summary: 'The user the API key belongs to',
  description: 'Returns the user who owns the API key (or Bearer token) of the request.',
  auth: 'apiKey',
  responses: { 200: { description: 'The current user.', schema: UserSchema } },
  // An API key's authentication has read the user already (shared/auth/credentialRepository.ts); a token's has not.
  handler: async ({ auth, deps }) => jsonResponse(200, auth.user ? toUserResponse(auth.user) : await getCurrentUser(deps.db, auth.userId)),
});

defineRoute({
  operationId: 'getUserSettings',
  method: 'GET',
  path: '/v1/users/me/settings',
  tags: ['Users'],
  summary: 'Your retention and redaction settings',
  description:
    'How long session files and example messages are kept (days after creation, or null: kept), and what is masked ' +
    'at ingestion besides passwords (always): card numbers (on by default), e-mail addresses, your own patterns.',
  auth: 'apiKey',
  responses: { 200: { description: 'The settings in force.', schema: UserSettingsSchema } },
  handler: async ({ auth, deps }) => jsonResponse(200, await getUserSettings(deps.db, deps.config.privacy, auth.userId)),
});

defineRoute({
  operationId: 'updateUserSettings',
  method: 'PATCH',
  path: '/v1/users/me/settings',
  tags: ['Users'],
  summary: 'Change your retention and redaction settings',
  description:
    `Retention days are whole numbers from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}, or null (kept); out ` +
    'of range is a 422 naming the field. A pattern RE2 cannot compile (or that matches the empty string) is a 422 ' +
    'with the reason, naming `redaction.patterns.<n>.pattern`. A shorter retention applies at the next daily run ' +
    '(GET /v1/users/me/retention-preview shows what it will delete); redaction rules apply to uploads indexed from ' +
    'then on.',
  auth: 'apiKey',
  body: UpdateUserSettingsBody,
  responses: { 200: { description: 'The settings now in force.', schema: UserSettingsSchema } },
  handler: async ({ auth, body, deps }) => jsonResponse(200, await updateUserSettings(deps.db, deps.config.privacy, auth.userId, body)),
});

defineRoute({
  operationId: 'previewRetention',
  method: 'GET',
  path: '/v1/users/me/retention-preview',
  tags: ['Users'],
  summary: 'What the next retention run would delete',
  description:
    'A dry run of the daily retention run with your settings as they are now: the sessions whose files it would ' +
    'delete (they become `expired`) and the examples it would delete, with counts and the oldest 100 of each. ' +
    'Nothing is changed.',
  auth: 'apiKey',
  responses: { 200: { description: 'What is past retention now.', schema: RetentionPreviewSchema } },
  handler: async ({ auth, deps }) => jsonResponse(200, await previewRetention(deps.db, deps.config.privacy, auth.userId, deps.clock())),
});

defineRoute({
  operationId: 'eraseCurrentUser',
  method: 'DELETE',
  path: '/v1/users/me',
  tags: ['Users'],
  summary: 'Erase your account and all its data',
  description:
    'Bearer token only (the storefront; an API key is refused), with `{"confirm": "<your user id>"}`. Erases every ' +
    'session, example and file of the account (traces, originals, screenshots, staging uploads, messages), revokes ' +
    'every API key, deletes A2P tasks and settings, and anonymises the user row. Kept for accounting: the user id ' +
    'with its Stripe customer id, invoices, token usage and storage samples, and the sessions\' and examples\' rows ' +
    'without their content (README, "Erasing an account"). Idempotent: a repeated call, or one after a failure half ' +
    'way, finishes the erasure from where it stopped and answers 204; once finished the token names no account and ' +
    'the call is 204 with nothing to do. A wrong `confirm` is a 422 and erases nothing.',
  auth: 'entraIdentity',
  body: EraseUserBody,
  responses: { 204: { description: 'Erased (or nothing left to erase).' } },
  errors: ['bad_request'],
  handler: async ({ auth, body, deps }) => {
    await requestErasure({ db: deps.db, stores: await deps.storage.fileStores() }, auth, body.confirm);
    return { status: 204 };
  },
});
