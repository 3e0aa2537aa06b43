import { MODEL_PROVIDERS } from '../db/schema.js';
import { PaginationQuery, pageSchema } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';
import { CATALOG_LIMITS, DisplayName, Timestamp } from './catalogFieldSchemas.js';

export const ModelProviderSchema = z.enum(MODEL_PROVIDERS).openapi('ModelProvider');

export const ModelSchema = z
  .object({
    id: z.uuid(),
    provider: ModelProviderSchema,
    name: z.string(),
    display_name: z.string().nullable(),
    usage_name: z.string().openapi({
      description: 'How usage reports name the model (`tokens.by_model`): provider/name in lower case.',
      example: 'openai/gpt-4o',
    }),
    created_at: Timestamp,
  })
  .openapi('Model', { description: 'A model that examples can be generated with.' });

export const ModelPageSchema = pageSchema(ModelSchema).openapi('ModelPage');

export const ModelListQuery = PaginationQuery.extend({
  provider: ModelProviderSchema.optional().openapi({ description: 'Only the models of this provider.' }),
});

export const CreateModelBody = z
  .object({
    provider: ModelProviderSchema,
    name: z
      .string()
      .trim()
      .min(1)
      .max(CATALOG_LIMITS.modelNameMaxLength)
      .regex(/^\S+$/, 'A model name has no spaces.')
      .openapi({
        description:
          `The provider's model name, 1 to ${CATALOG_LIMITS.modelNameMaxLength} characters without spaces; unique ` +
          'per provider, compared case-insensitively.',
        example: 'gpt-4o',
      }),
    display_name: DisplayName.nullable().optional(),
  })
  .openapi('CreateModelRequest');

export type ModelResponse = z.infer<typeof ModelSchema>;
export type ModelListFilters = z.infer<typeof ModelListQuery>;
export type CreateModelInput = z.infer<typeof CreateModelBody>;
