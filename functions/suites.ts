import { ANY_SCOPE } from '../shared/auth/scopes.js';
import { IdParams } from '../shared/catalog/catalogFieldSchemas.js';
import {
  CreateSuiteBody,
  SuiteListQuery,
  SuitePageSchema,
  SuiteWithActionsSchema,
  UpdateSuiteBody,
} from '../shared/catalog/suiteSchemas.js';
import { createSuite, deleteSuite, getSuite, listSuites, updateSuite } from '../shared/catalog/suiteService.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';

const WITH_ACTIONS = { description: 'The suite with its actions.', schema: SuiteWithActionsSchema };

// Catalog reads take any key; writes need catalog:write.
defineRoute({
  operationId: 'listSuites',
  method: 'GET',
  path: '/v1/suites',
  tags: ['Suites'],
  summary: 'List suites',
  description: 'Suites (the applications whose use is recorded), newest first. `name` finds one by name.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  query: SuiteListQuery,
  responses: { 200: { description: 'A page of suites.', schema: SuitePageSchema } },
  handler: async ({ query, deps }) => jsonResponse(200, await listSuites(deps.db, query)),
});

defineRoute({
  operationId: 'createSuite',
  method: 'POST',
  path: '/v1/suites',
  tags: ['Suites'],
  summary: 'Create a suite',
  description:
    'Creates a suite, optionally with its actions and their parameters, in one transaction: if anything is ' +
    'refused, nothing is created. Suite names are unique case-insensitively (409). Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  body: CreateSuiteBody,
  responses: { 201: WITH_ACTIONS },
  errors: ['conflict'],
  handler: async ({ body, deps }) => {
    const suite = await createSuite(deps.db, body);
    return jsonResponse(201, suite, { Location: `/v1/suites/${suite.id}` });
  },
});

defineRoute({
  operationId: 'getSuite',
  method: 'GET',
  path: '/v1/suites/{id}',
  tags: ['Suites'],
  summary: 'Get a suite with its actions',
  description: 'The suite with every action (ordered by name) and each action\'s parameters (in declared order).',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  params: IdParams,
  responses: { 200: WITH_ACTIONS },
  errors: ['not_found'],
  handler: async ({ params, deps }) => jsonResponse(200, await getSuite(deps.db, params.id)),
});

defineRoute({
  operationId: 'updateSuite',
  method: 'PATCH',
  path: '/v1/suites/{id}',
  tags: ['Suites'],
  summary: 'Rename or describe a suite',
  description: 'Changes the name and/or description (null clears it). Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: IdParams,
  body: UpdateSuiteBody,
  responses: { 200: WITH_ACTIONS },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, body, deps }) => jsonResponse(200, await updateSuite(deps.db, params.id, body)),
});

defineRoute({
  operationId: 'deleteSuite',
  method: 'DELETE',
  path: '/v1/suites/{id}',
  tags: ['Suites'],
  summary: 'Delete a suite',
  description:
    'Deletes the suite with its actions. 409, deleting nothing, while sessions or action-tool maps refer to it. ' +
    'Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: IdParams,
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, deps }) => {
    await deleteSuite(deps.db, params.id);
    return noContent();
  },
});
