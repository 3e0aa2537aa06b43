import { PaginationQuery } from '../http/pagination.js';
import type { z } from '../openapi/zod.js';
import { parameterizedChildSchemas } from './parameterizedChildSchemas.js';

export const {
  Schema: ActionSchema,
  PageSchema: ActionPageSchema,
  CreateBody: CreateActionBody,
  UpdateBody: UpdateActionBody,
  CollectionParams: SuiteActionsParams,
  ItemParams: SuiteActionParams,
} = parameterizedChildSchemas({
  name: 'Action',
  parentField: 'suite_id',
  description: 'A canonical action of a suite (what a user does in the application), with its typed parameters.',
  nameDoc: { description: 'Unique within the suite (case-sensitive).' },
  parentIdDoc: 'The suite id.',
  childIdDoc: 'The action id.',
});

export const ActionListQuery = PaginationQuery;

export type ActionResponse = z.infer<typeof ActionSchema>;
export type CreateActionInput = z.infer<typeof CreateActionBody>;
export type UpdateActionInput = z.infer<typeof UpdateActionBody>;
