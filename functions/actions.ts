import { defineCatalogRoutes, CHILD_UPDATE_DESCRIPTION } from '../shared/catalog/catalogRoutes.js';
import {
  ActionListQuery,
  ActionPageSchema,
  ActionSchema,
  CreateActionBody,
  SuiteActionParams,
  SuiteActionsParams,
  UpdateActionBody,
} from '../shared/catalog/actionSchemas.js';
import { createAction, deleteAction, getAction, listActions, updateAction } from '../shared/catalog/actionService.js';

const ACTION = { description: 'The action.', schema: ActionSchema };

defineCatalogRoutes({
  tags: ['Suites'],
  path: '/v1/suites/{suite_id}/actions',
  collectionParams: SuiteActionsParams,
  itemParams: SuiteActionParams,
  list: {
    operationId: 'listSuiteActions',
    summary: 'List the actions of a suite',
    description: 'The suite\'s actions with their parameters, newest first.',
    query: ActionListQuery,
    response: { description: 'A page of actions.', schema: ActionPageSchema },
    run: (db, { params, query }) => listActions(db, params.suite_id, query),
  },
  create: {
    operationId: 'createSuiteAction',
    summary: 'Create an action with its parameters',
    description:
      'Creates an action of the suite together with its typed parameters, in one transaction. The name is unique ' +
      'within the suite and parameter names within the action (409, and nothing is created). Needs `catalog:write`.',
    body: CreateActionBody,
    response: { description: 'The action with its parameters.', schema: ActionSchema },
    run: (db, { params, body }) => createAction(db, params.suite_id, body),
  },
  get: {
    operationId: 'getSuiteAction',
    summary: 'Get an action',
    description: 'The action with its parameters in declared order. 404 unless it belongs to this suite.',
    response: ACTION,
    run: (db, { params }) => getAction(db, params.suite_id, params.id),
  },
  update: {
    operationId: 'updateSuiteAction',
    summary: 'Rename an action or replace its parameters',
    description: CHILD_UPDATE_DESCRIPTION,
    body: UpdateActionBody,
    response: ACTION,
    run: (db, { params, body }) => updateAction(db, params.suite_id, params.id, body),
  },
  delete: {
    operationId: 'deleteSuiteAction',
    summary: 'Delete an action',
    description:
      'Deletes the action with its parameters. 409, deleting nothing, while an action-tool map maps it. Needs ' +
      '`catalog:write`.',
    run: (db, { params }) => deleteAction(db, params.suite_id, params.id),
  },
});
