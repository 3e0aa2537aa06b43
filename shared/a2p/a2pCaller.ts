import type { ServerCallContext, User } from '@a2a-js/sdk/server';
import type { AuthContext } from '../auth/authenticate.js';

/**
 * The authenticated caller of an A2P request, as the A2A SDK sees users: its `userName` is our user id, which is
 * what the task store scopes tasks by (another user's task is simply not found). It carries the whole AuthContext
 * (key, scopes, suite restriction) so that the skills apply the same rules as the REST API.
 */
export class A2pCaller implements User {
  constructor(readonly auth: AuthContext) {}

  get isAuthenticated(): boolean {
    return true;
  }

  get userName(): string {
    return this.auth.userId;
  }
}

/** The caller of a call the HTTP layer authenticated; anything else is a wiring bug, not a client error. */
export function callerOf(context: ServerCallContext): AuthContext {
  const user = context.user;
  if (user instanceof A2pCaller) return user.auth;
  throw new Error('A2P call without an authenticated caller.');
}
