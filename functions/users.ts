import { getDb } from '../shared/db/index.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';
import { UserSchema } from '../shared/users/userSchemas.js';
import { getCurrentUser } from '../shared/users/userService.js';

defineRoute({
  operationId: 'getCurrentUser',
  method: 'GET',
  path: '/v1/users/me',
  tags: ['Users'],
  summary: 'The user the API key belongs to',
  description: 'Returns the user who owns the API key (or token) of the request.',
  auth: 'apiKey',
  responses: { 200: { description: 'The current user.', schema: UserSchema } },
  handler: async ({ auth }) => jsonResponse(200, await getCurrentUser(getDb(), auth.userId)),
});
