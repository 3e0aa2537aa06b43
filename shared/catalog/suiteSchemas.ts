import { PaginationQuery, pageSchema } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';
import { ActionSchema, CreateActionBody } from './actionSchemas.js';
import {
  CATALOG_LIMITS,
  changesSomething,
  Description,
  DisplayName,
  NameFilter,
  NOTHING_TO_CHANGE,
  Timestamp,
} from './catalogFieldSchemas.js';

export const SuiteSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Suite', { description: 'An application whose use is recorded (e.g. "Gmail").' });

export const SuiteWithActionsSchema = SuiteSchema.extend({
  actions: z.array(ActionSchema).openapi({ description: 'Every action of the suite, by name.' }),
}).openapi('SuiteWithActions');

export const SuitePageSchema = pageSchema(SuiteSchema).openapi('SuitePage');

export const SuiteListQuery = PaginationQuery.extend({
  name: NameFilter.openapi({ description: 'Only the suite of this name (compared case-insensitively).' }),
});

export const CreateSuiteBody = z
  .object({
    name: DisplayName.openapi({ description: 'Unique, compared case-insensitively.', example: 'Gmail' }),
    description: Description.optional(),
    actions: z
      .array(CreateActionBody)
      .max(CATALOG_LIMITS.childrenPerCreate)
      .default([])
      .openapi({ description: `Actions created with the suite, at most ${CATALOG_LIMITS.childrenPerCreate}.` }),
  })
  .openapi('CreateSuiteRequest');

export const UpdateSuiteBody = z
  .object({ name: DisplayName.optional(), description: Description.optional() })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('UpdateSuiteRequest');

export type SuiteResponse = z.infer<typeof SuiteSchema>;
export type SuiteWithActionsResponse = z.infer<typeof SuiteWithActionsSchema>;
export type SuiteListFilters = z.infer<typeof SuiteListQuery>;
export type CreateSuiteInput = z.infer<typeof CreateSuiteBody>;
export type UpdateSuiteInput = z.infer<typeof UpdateSuiteBody>;
