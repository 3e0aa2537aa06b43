import { z } from '../openapi/zod.js';

export const MAX_PER_PAGE = 100;
export const DEFAULT_PER_PAGE = 20;

/**
 * A whole number in a query string: decimal digits only. `Number()` (and so `z.coerce.number()`) also reads
 * `0x10` as 16, `1e1` as 10, ` 7 ` as 7 and an empty value as 0; those are 422 here. A JSON number (an agent's data
 * part, an MCP argument) is taken as it is.
 */
export function queryInteger(bounds: { min: number; max?: number }) {
  const digits = (value: unknown) => (typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : value);
  const number = z.number({ error: 'must be a whole number written in decimal digits' }).int().min(bounds.min);
  return z.preprocess(digits, bounds.max === undefined ? number : number.max(bounds.max));
}

/** `?page=1&per_page=20`; per_page at most 100. Out-of-range values are 422, never clamped silently. */
export function paginationQuery(defaultPerPage: number) {
  return z.object({
    page: queryInteger({ min: 1 }).default(1).openapi({ description: 'Page number, from 1.', example: 1 }),
    per_page: queryInteger({ min: 1, max: MAX_PER_PAGE })
      .default(defaultPerPage)
      .openapi({ description: `Items per page, 1 to ${MAX_PER_PAGE}.`, example: defaultPerPage }),
  });
}

export const PaginationQuery = paginationQuery(DEFAULT_PER_PAGE);

export type Pagination = z.infer<typeof PaginationQuery>;

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int().min(0),
    page: z.number().int().min(1),
    per_page: z.number().int().min(1),
  });
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

export function offsetOf(pagination: Pagination): number {
  return (pagination.page - 1) * pagination.per_page;
}

export function toPage<T>(items: T[], total: number, pagination: Pagination): Page<T> {
  return { items, total, page: pagination.page, per_page: pagination.per_page };
}
