import type { AuthContext } from './authenticate.js';
import { ApiError } from '../errors/apiError.js';

/**
 * A key may be limited to some suites. It then sees sessions and examples of those suites only: anything else
 * reads as absent (404, like another user's data), and creating in another suite is 403.
 */
export function canSeeSuite(auth: Pick<AuthContext, 'suiteIds'>, suiteId: string): boolean {
  return auth.suiteIds === null || auth.suiteIds.includes(suiteId);
}

export function assertCanCreateInSuite(auth: AuthContext, suiteId: string): void {
  if (!canSeeSuite(auth, suiteId)) {
    throw ApiError.forbidden('This API key is limited to other suites.', { suite_id: suiteId });
  }
}

/** For list queries: null means no restriction, else the suite ids a key may see. */
export function visibleSuiteIds(auth: AuthContext): string[] | null {
  return auth.suiteIds;
}
