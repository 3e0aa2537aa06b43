import { z } from '../openapi/zod.js';

export const MAX_PER_PAGE = 100;
export const DEFAULT_PER_PAGE = 20;

/** `?page=1&per_page=20`; per_page at most 100. Out-of-range values are 422, never clamped silently. */
export const PaginationQuery = z.object({
  page: z.coerce
    .number()
    .int()
    .min(1)
    .default(1)
    .openapi({ description: 'Page number, from 1.', example: 1 }),
  per_page: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PER_PAGE)
    .default(DEFAULT_PER_PAGE)
    .openapi({ description: `Items per page, 1 to ${MAX_PER_PAGE}.`, example: DEFAULT_PER_PAGE }),
});

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
