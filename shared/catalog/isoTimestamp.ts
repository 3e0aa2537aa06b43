/**
 * A timestamp as the API shows it (ISO 8601 UTC with milliseconds). Columns read directly arrive as Date; those
 * read through jsonArrayFrom/jsonObjectFrom arrive as PostgreSQL's JSON text (`2026-02-19T10:30:00.123456+00:00`),
 * whatever the Kysely type says, so both are accepted.
 */
export function isoTimestamp(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
