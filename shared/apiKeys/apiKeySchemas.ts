import { API_KEY_SCOPES } from '../db/schema.js';
import { z } from '../openapi/zod.js';

export const ApiKeyScopeSchema = z
  .enum(API_KEY_SCOPES)
  .openapi('ApiKeyScope', {
    description:
      '`api`: the API (default). `catalog:write`: create and change the catalog. `pipeline`: report example ' +
      'results (the pipelines service).',
  });

/** A key may be limited to at most this many suites. */
export const MAX_KEY_SUITES = 100;

export const CreateApiKeyBodySchema = z
  .object({
    name: z.string().trim().max(100).default('').openapi({ description: 'A label for you; up to 100 characters.' }),
    scopes: z
      .array(ApiKeyScopeSchema)
      .min(1)
      .default(['api'])
      .transform((scopes) => [...new Set(scopes)])
      .openapi({ description: 'At most the scopes of the key or user creating it. Default `["api"]`.' }),
    suite_ids: z
      .array(z.uuid())
      .min(1)
      .max(MAX_KEY_SUITES)
      .nullable()
      .default(null)
      .transform((ids) => (ids === null ? null : [...new Set(ids)]))
      .openapi({ description: 'Limit the key to these suites; null (default) for every suite.' }),
  })
  .openapi('CreateApiKey', { example: { name: 'training pipeline', scopes: ['api'], suite_ids: null } });

export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBodySchema>;

export const ApiKeySchema = z
  .object({
    id: z.uuid(),
    prefix: z.string().openapi({ description: 'The masked key, e.g. `tp_live_sk_a1b2...o5p6`.' }),
    name: z.string(),
    scopes: z.array(ApiKeyScopeSchema),
    suite_ids: z.array(z.uuid()).nullable(),
    created_at: z.iso.datetime(),
    last_used_at: z.iso.datetime().nullable().openapi({ description: 'Updated at most once a minute.' }),
  })
  .openapi('ApiKey');

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: 'The secret. Shown only in this response: store it now.' }),
}).openapi('CreatedApiKey', {
  example: {
    id: '0b8e3f7a-5c1d-4e2f-9a3b-7c6d5e4f3a2b',
    key: 'tp_live_sk_8Jq2...',
    prefix: 'tp_live_sk_8Jq2...x9Zw',
    name: 'training pipeline',
    scopes: ['api'],
    suite_ids: null,
    created_at: '2026-02-19T10:30:00.000Z',
    last_used_at: null,
  },
});

export type ApiKeyResponse = z.infer<typeof ApiKeySchema>;
export type CreatedApiKeyResponse = z.infer<typeof CreatedApiKeySchema>;

export const ApiKeyIdParams = z.object({ id: z.uuid() });
