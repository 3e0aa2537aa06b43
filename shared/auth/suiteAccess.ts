import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { AuthContext } from './authenticate.js';
import { ApiError } from '../errors/apiError.js';

/*
 * A key may be limited to some suites. It then sees sessions, examples and usage of those suites only: anything
 * else reads as absent (404, like another user's data), and creating in another suite is 403. This module is the
 * one place that rule is written, in code (canSeeSuite) and in SQL (inVisibleSuites).
 */

/** Who is asking, for queries of a caller's own data: the owner, and the suites their key is limited to. */
export type Viewer = Pick<AuthContext, 'userId' | 'suiteIds'>;

export function canSeeSuite(viewer: Pick<Viewer, 'suiteIds'>, suiteId: string): boolean {
  return viewer.suiteIds === null || viewer.suiteIds.includes(suiteId);
}

export function assertCanCreateInSuite(viewer: Viewer, suiteId: string): void {
  if (!canSeeSuite(viewer, suiteId)) {
    throw ApiError.forbidden('This API key is limited to other suites.', { suite_id: suiteId });
  }
}

/**
 * The where-clause "`column` is a suite this caller may see", for every query that filters by a caller's suites:
 * true when the key is not limited (null). `= any(array)` rather than `in (...)`: an empty list is then simply
 * false, never the `in ()` that PostgreSQL rejects (migration 0013 also keeps empty lists out of api_keys).
 */
export function inVisibleSuites(column: string, suiteIds: string[] | null): RawBuilder<SqlBool> {
  return suiteIds === null ? sql<SqlBool>`true` : sql<SqlBool>`${sql.ref(column)} = any(${suiteIds}::uuid[])`;
}
