import { ANY_SCOPE } from '../shared/auth/scopes.js';
import { IdParams } from '../shared/catalog/catalogFieldSchemas.js';
import { CreateModelBody, ModelListQuery, ModelPageSchema, ModelSchema } from '../shared/catalog/modelSchemas.js';
import { createModel, getModel, listModels } from '../shared/catalog/modelService.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse } from '../shared/http/responses.js';

const MODEL = { description: 'The model.', schema: ModelSchema };

// Models are only added and read: no PATCH or DELETE. Reads take any key; adding one needs catalog:write.
defineRoute({
  operationId: 'listModels',
  method: 'GET',
  path: '/v1/models',
  tags: ['Models'],
  summary: 'List models',
  description: 'The models examples can be generated with, newest first; `provider` filters by provider.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  query: ModelListQuery,
  responses: { 200: { description: 'A page of models.', schema: ModelPageSchema } },
  handler: async ({ query, deps }) => jsonResponse(200, await listModels(deps.db, query)),
});

defineRoute({
  operationId: 'createModel',
  method: 'POST',
  path: '/v1/models',
  tags: ['Models'],
  summary: 'Register a model',
  description:
    'Adds a model. Provider and name are unique together, the name compared case-insensitively (409), since ' +
    'usage names models as `provider/name` in lower case. Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  body: CreateModelBody,
  responses: { 201: MODEL },
  errors: ['conflict'],
  handler: async ({ body, deps }) => {
    const model = await createModel(deps.db, body);
    return jsonResponse(201, model, { Location: `/v1/models/${model.id}` });
  },
});

defineRoute({
  operationId: 'getModel',
  method: 'GET',
  path: '/v1/models/{id}',
  tags: ['Models'],
  summary: 'Get a model',
  description: 'One model, with the name usage reports give it.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  params: IdParams,
  responses: { 200: MODEL },
  errors: ['not_found'],
  handler: async ({ params, deps }) => jsonResponse(200, await getModel(deps.db, params.id)),
});
