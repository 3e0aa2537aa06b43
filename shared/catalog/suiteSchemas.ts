import { z } from '../openapi/zod.js';
import { ActionSchema, CreateActionBody } from './actionSchemas.js';
import { CATALOG_LIMITS } from './catalogFieldSchemas.js';
import { parentWithChildrenSchemas } from './parentWithChildrenSchemas.js';

export const {
  Schema: SuiteSchema,
  WithChildrenSchema: SuiteWithActionsSchema,
  PageSchema: SuitePageSchema,
  ListQuery: SuiteListQuery,
  CreateBody: CreateSuiteBody,
  UpdateBody: UpdateSuiteBody,
} = parentWithChildrenSchemas({
  name: 'Suite',
  description: 'An application whose use is recorded (e.g. "Gmail").',
  own: {},
  ownInput: {},
  children: 'actions',
  childSchema: ActionSchema,
  childCreateBody: CreateActionBody,
  childrenDoc: 'Every action of the suite, by name.',
  createChildrenDoc: `Actions created with the suite, at most ${CATALOG_LIMITS.childrenPerCreate}.`,
  nameFilterDoc: 'Only the suite of this name (compared case-insensitively).',
  nameExample: 'Gmail',
});

export type SuiteResponse = z.infer<typeof SuiteSchema>;
export type SuiteWithActionsResponse = z.infer<typeof SuiteWithActionsSchema>;
export type SuiteListFilters = z.infer<typeof SuiteListQuery>;
export type CreateSuiteInput = z.infer<typeof CreateSuiteBody>;
export type UpdateSuiteInput = z.infer<typeof UpdateSuiteBody>;
