import { ANY_SCOPE } from '../shared/auth/scopes.js';
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
import { PARAMETER_REPLACEMENT_RULES } from '../shared/catalog/parameterReplacement.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';

const ACTION = { description: 'The action.', schema: ActionSchema };

// Catalog reads take any key; writes need catalog:write. Below a suite, the suite itself may be missing (404).
defineRoute({
  operationId: 'listSuiteActions',
  method: 'GET',
  path: '/v1/suites/{suite_id}/actions',
  tags: ['Suites'],
  summary: 'List the actions of a suite',
  description: 'The suite\'s actions with their parameters, newest first.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  params: SuiteActionsParams,
  query: ActionListQuery,
  responses: { 200: { description: 'A page of actions.', schema: ActionPageSchema } },
  errors: ['not_found'],
  handler: async ({ params, query, deps }) => jsonResponse(200, await listActions(deps.db, params.suite_id, query)),
});

defineRoute({
  operationId: 'createSuiteAction',
  method: 'POST',
  path: '/v1/suites/{suite_id}/actions',
  tags: ['Suites'],
  summary: 'Create an action with its parameters',
  description:
    'Creates an action of the suite together with its typed parameters, in one transaction. The name is unique ' +
    'within the suite and parameter names within the action (409, and nothing is created). Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: SuiteActionsParams,
  body: CreateActionBody,
  responses: { 201: { description: 'The action with its parameters.', schema: ActionSchema } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, body, deps }) => {
    const action = await createAction(deps.db, params.suite_id, body);
    return jsonResponse(201, action, { Location: `/v1/suites/${action.suite_id}/actions/${action.id}` });
  },
});

defineRoute({
  operationId: 'getSuiteAction',
  method: 'GET',
  path: '/v1/suites/{suite_id}/actions/{id}',
  tags: ['Suites'],
  summary: 'Get an action',
  description: 'The action with its parameters in declared order. 404 unless it belongs to this suite.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  params: SuiteActionParams,
  responses: { 200: ACTION },
  errors: ['not_found'],
  handler: async ({ params, deps }) => jsonResponse(200, await getAction(deps.db, params.suite_id, params.id)),
});

defineRoute({
  operationId: 'updateSuiteAction',
  method: 'PATCH',
  path: '/v1/suites/{suite_id}/actions/{id}',
  tags: ['Suites'],
  summary: 'Rename an action or replace its parameters',
  description: PARAMETER_REPLACEMENT_RULES,
  auth: 'apiKey',
  scope: 'catalog:write',
  params: SuiteActionParams,
  body: UpdateActionBody,
  responses: { 200: ACTION },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, body, deps }) =>
    jsonResponse(200, await updateAction(deps.db, params.suite_id, params.id, body)),
});

defineRoute({
  operationId: 'deleteSuiteAction',
  method: 'DELETE',
  path: '/v1/suites/{suite_id}/actions/{id}',
  tags: ['Suites'],
  summary: 'Delete an action',
  description:
    'Deletes the action with its parameters. 409, deleting nothing, while an action-tool map maps it. Needs ' +
    '`catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: SuiteActionParams,
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, deps }) => {
    await deleteAction(deps.db, params.suite_id, params.id);
    return noContent();
  },
});
