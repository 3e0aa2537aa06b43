import { defineCatalogRoutes } from '../shared/catalog/catalogRoutes.js';
import { IdParams } from '../shared/catalog/catalogFieldSchemas.js';
import {
  CreateSuiteBody,
  SuiteListQuery,
  SuitePageSchema,
  SuiteWithActionsSchema,
  UpdateSuiteBody,
} from '../shared/catalog/suiteSchemas.js';
import { createSuite, deleteSuite, getSuite, listSuites, updateSuite } from '../shared/catalog/suiteService.js';

const WITH_ACTIONS = { description: 'The suite with its actions.', schema: SuiteWithActionsSchema };

defineCatalogRoutes({
  tags: ['Suites'],
  path: '/v1/suites',
  itemParams: IdParams,
  list: {
    operationId: 'listSuites',
    summary: 'List suites',
    description: 'Suites (the applications whose use is recorded), newest first. `name` finds one by name.',
    query: SuiteListQuery,
    response: { description: 'A page of suites.', schema: SuitePageSchema },
    run: (db, { query }) => listSuites(db, query),
  },
  create: {
    operationId: 'createSuite',
    summary: 'Create a suite',
    description:
      'Creates a suite, optionally with its actions and their parameters, in one transaction: if anything is ' +
      'refused, nothing is created. Suite names are unique case-insensitively (409). Needs `catalog:write`.',
    body: CreateSuiteBody,
    response: WITH_ACTIONS,
    run: (db, { body }) => createSuite(db, body),
  },
  get: {
    operationId: 'getSuite',
    summary: 'Get a suite with its actions',
    description: 'The suite with every action (ordered by name) and each action\'s parameters (in declared order).',
    response: WITH_ACTIONS,
    run: (db, { params }) => getSuite(db, params.id),
  },
  update: {
    operationId: 'updateSuite',
    summary: 'Rename or describe a suite',
    description: 'Changes the name and/or description (null clears it). Needs `catalog:write`.',
    body: UpdateSuiteBody,
    response: WITH_ACTIONS,
    run: (db, { params, body }) => updateSuite(db, params.id, body),
  },
  delete: {
    operationId: 'deleteSuite',
    summary: 'Delete a suite',
    description:
      'Deletes the suite with its actions. 409, deleting nothing, while sessions or action-tool maps refer to it. ' +
      'Needs `catalog:write`.',
    run: (db, { params }) => deleteSuite(db, params.id),
  },
});
