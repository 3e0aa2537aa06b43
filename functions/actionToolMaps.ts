import { ANY_SCOPE } from '../shared/auth/scopes.js';
import { IdParams } from '../shared/catalog/catalogFieldSchemas.js';
import {
  ActionToolMapListQuery,
  ActionToolMapPageSchema,
  ActionToolMapSchema,
  CreateActionToolMapBody,
} from '../shared/catalog/actionToolMapSchemas.js';
import {
  createActionToolMap,
  deleteActionToolMap,
  getActionToolMap,
  listActionToolMaps,
} from '../shared/catalog/actionToolMapService.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { jsonResponse, noContent } from '../shared/http/responses.js';

// Catalog reads take any key; writes need catalog:write. A map is created and deleted whole: no PATCH.
defineRoute({
  operationId: 'listActionToolMaps',
  method: 'GET',
  path: '/v1/action-tool-maps',
  tags: ['Action-tool maps'],
  summary: 'List action-tool maps',
  description:
    'Maps newest first, each with its suite and server names and how many mappings it has; filter by ' +
    '`suite_id` and/or `mcp_server_id`. GET one map for its full tree.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  query: ActionToolMapListQuery,
  responses: { 200: { description: 'A page of maps.', schema: ActionToolMapPageSchema } },
  handler: async ({ query, deps }) => jsonResponse(200, await listActionToolMaps(deps.db, query)),
});

defineRoute({
  operationId: 'createActionToolMap',
  method: 'POST',
  path: '/v1/action-tool-maps',
  tags: ['Action-tool maps'],
  summary: 'Create an action-tool map with its mappings',
  description:
    'Creates a map of a suite onto an MCP server with all its mappings, in one transaction. The map is checked ' +
    'as a whole: each mapped action belongs to the suite, each tool to the server, each parameter mapping joins ' +
    'a parameter of that action to a parameter of that tool of the same ParameterType (compatible means ' +
    'identical types), and no action is mapped twice, nor a parameter twice within a mapping. Violations are a ' +
    '422 whose `details.violations` lists each broken rule with the offending ids; an unknown `suite_id` or ' +
    '`mcp_server_id` is a 422 too. Needs `catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  body: CreateActionToolMapBody,
  responses: { 201: { description: 'The map with its full tree.', schema: ActionToolMapSchema } },
  // What a map refers to is checked as a whole, and refused as a 422: this operation documents no 409.
  errors: [],
  handler: async ({ body, deps }) => {
    const map = await createActionToolMap(deps.db, body);
    return jsonResponse(201, map, { Location: `/v1/action-tool-maps/${map.id}` });
  },
});

defineRoute({
  operationId: 'getActionToolMap',
  method: 'GET',
  path: '/v1/action-tool-maps/{id}',
  tags: ['Action-tool maps'],
  summary: 'Get an action-tool map with its full tree',
  description:
    'The map with its mappings (by action name), each naming its action and tool by id and name, and their ' +
    'parameter mappings (in the action\'s parameter order), each naming both parameters by id and name.',
  auth: 'apiKey',
  scope: ANY_SCOPE,
  params: IdParams,
  responses: { 200: { description: 'The map.', schema: ActionToolMapSchema } },
  errors: ['not_found'],
  handler: async ({ params, deps }) => jsonResponse(200, await getActionToolMap(deps.db, params.id)),
});

defineRoute({
  operationId: 'deleteActionToolMap',
  method: 'DELETE',
  path: '/v1/action-tool-maps/{id}',
  tags: ['Action-tool maps'],
  summary: 'Delete an action-tool map',
  description:
    'Deletes the map with its mappings. 409, deleting nothing, while examples were generated with it. Needs ' +
    '`catalog:write`.',
  auth: 'apiKey',
  scope: 'catalog:write',
  params: IdParams,
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found', 'conflict'],
  handler: async ({ params, deps }) => {
    await deleteActionToolMap(deps.db, params.id);
    return noContent();
  },
});
