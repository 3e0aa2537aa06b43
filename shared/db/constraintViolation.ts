/**
 * Reads a PostgreSQL constraint violation off a driver error, so that services can turn "already exists" and
 * "still referenced" into 409s instead of 500s. SQLSTATEs: https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export type ConstraintKind = 'unique' | 'foreign_key' | 'check' | 'not_null' | 'exclusion';

const KIND_BY_SQLSTATE: Record<string, ConstraintKind> = {
  '23505': 'unique',
  '23503': 'foreign_key',
  '23001': 'foreign_key', // restrict_violation (PostgreSQL 18+ for ON DELETE RESTRICT)
  '23514': 'check',
  '23502': 'not_null',
  '23P01': 'exclusion',
};

export interface ConstraintViolation {
  kind: ConstraintKind;
  /** The constraint's name, e.g. suites_name_key, when the server reports it. */
  constraint: string | undefined;
  table: string | undefined;
  /** PostgreSQL's own detail line, e.g. `Key (name)=(Gmail) already exists.` Never shown to API callers as is. */
  detail: string | undefined;
}

export function constraintViolationOf(error: unknown): ConstraintViolation | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, constraint, table, detail } = error as Record<string, unknown>;
  const kind = typeof code === 'string' ? KIND_BY_SQLSTATE[code] : undefined;
  if (!kind) return null;
  return {
    kind,
    constraint: typeof constraint === 'string' ? constraint : undefined,
    table: typeof table === 'string' ? table : undefined,
    detail: typeof detail === 'string' ? detail : undefined,
  };
}
