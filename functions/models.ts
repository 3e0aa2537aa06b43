import { defineCatalogRoutes } from '../shared/catalog/catalogRoutes.js';
import { IdParams } from '../shared/catalog/catalogFieldSchemas.js';
import { CreateModelBody, ModelListQuery, ModelPageSchema, ModelSchema } from '../shared/catalog/modelSchemas.js';
import { createModel, getModel, listModels } from '../shared/catalog/modelService.js';

const MODEL = { description: 'The model.', schema: ModelSchema };

// Models are only added and read: no PATCH or DELETE.
defineCatalogRoutes({
  tags: ['Models'],
  path: '/v1/models',
  itemParams: IdParams,
  list: {
    operationId: 'listModels',
    summary: 'List models',
    description: 'The models examples can be generated with, newest first; `provider` filters by provider.',
    query: ModelListQuery,
    response: { description: 'A page of models.', schema: ModelPageSchema },
    run: (db, { query }) => listModels(db, query),
  },
  create: {
    operationId: 'createModel',
    summary: 'Register a model',
    description:
      'Adds a model. Provider and name are unique together, the name compared case-insensitively (409), since ' +
      'usage names models as `provider/name` in lower case. Needs `catalog:write`.',
    body: CreateModelBody,
    response: MODEL,
    run: (db, { body }) => createModel(db, body),
  },
  get: {
    operationId: 'getModel',
    summary: 'Get a model',
    description: 'One model, with the name usage reports give it.',
    response: MODEL,
    run: (db, { params }) => getModel(db, params.id),
  },
});
