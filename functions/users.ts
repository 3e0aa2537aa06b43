import { getDb } from '../shared/db/index.js';
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
  handler: async ({ auth, body }) => {
    const { user, created } = await registerUser(getDb(), auth, body);
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
  handler: async ({ auth }) => jsonResponse(200, auth.user ? toUserResponse(auth.user) : await getCurrentUser(getDb(), auth.userId)),
});
