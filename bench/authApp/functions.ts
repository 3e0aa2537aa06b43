/**
 * The app the auth benchmark serves: the real app's lifecycle and users functions, plus one route that answers
 * the same as GET /v1/users/me without the auth step, so the two differ by authentication alone.
 * Only `npm run bench -- auth` loads this (from dist/bench/authApp); the product never does.
 */
import '../../functions/appLifecycle.js';
import '../../functions/users.js';
import { defineRoute } from '../../shared/http/defineRoute.js';
import { jsonResponse } from '../../shared/http/responses.js';
import { UserSchema } from '../../shared/users/userSchemas.js';
import { getCurrentUser } from '../../shared/users/userService.js';

const benchUserId = process.env.BENCH_USER_ID ?? '';

defineRoute({
  operationId: 'benchCurrentUserWithoutAuth',
  method: 'GET',
  path: '/v1/bench/users/me',
  tags: ['Bench'],
  summary: 'GET /v1/users/me without authentication (benchmark only)',
  description: 'Answers for the user in BENCH_USER_ID.',
  auth: 'public',
  responses: { 200: { description: 'The user.', schema: UserSchema } },
  handler: async ({ deps }) => jsonResponse(200, await getCurrentUser(deps.db, benchUserId)),
});
