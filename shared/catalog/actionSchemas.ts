import { PaginationQuery, pageSchema } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';
import {
  changesSomething,
  Description,
  IdentifierName,
  NOTHING_TO_CHANGE,
  ParameterListInput,
  ParameterListReplacement,
  ParameterSchema,
  Timestamp,
} from './catalogFieldSchemas.js';

export const ActionSchema = z
  .object({
    id: z.uuid(),
    suite_id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    parameters: z.array(ParameterSchema),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Action', {
    description: 'A canonical action of a suite (what a user does in the application), with its typed parameters.',
  });

export const ActionPageSchema = pageSchema(ActionSchema).openapi('ActionPage');

export const CreateActionBody = z
  .object({
    name: IdentifierName.openapi({ description: 'Unique within the suite (case-sensitive).' }),
    description: Description.optional(),
    parameters: ParameterListInput.default([]),
  })
  .openapi('CreateActionRequest');

export const UpdateActionBody = z
  .object({
    name: IdentifierName.optional(),
    description: Description.optional(),
    parameters: ParameterListReplacement,
  })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('UpdateActionRequest');

export const SuiteActionsParams = z.object({ suite_id: z.uuid().openapi({ description: 'The suite id.' }) });
export const SuiteActionParams = SuiteActionsParams.extend({ id: z.uuid().openapi({ description: 'The action id.' }) });

export const ActionListQuery = PaginationQuery;

export type ActionResponse = z.infer<typeof ActionSchema>;
export type CreateActionInput = z.infer<typeof CreateActionBody>;
export type UpdateActionInput = z.infer<typeof UpdateActionBody>;
