import { defineCatalogRoutes } from '../shared/catalog/catalogRoutes.js';
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

defineCatalogRoutes({
  tags: ['Action-tool maps'],
  path: '/v1/action-tool-maps',
  itemParams: IdParams,
  list: {
    operationId: 'listActionToolMaps',
    summary: 'List action-tool maps',
    description:
      'Maps newest first, each with its suite and server names and how many mappings it has; filter by ' +
      '`suite_id` and/or `mcp_server_id`. GET one map for its full tree.',
    query: ActionToolMapListQuery,
    response: { description: 'A page of maps.', schema: ActionToolMapPageSchema },
    run: (db, { query }) => listActionToolMaps(db, query),
  },
  create: {
    operationId: 'createActionToolMap',
    summary: 'Create an action-tool map with its mappings',
    description:
      'Creates a map of a suite onto an MCP server with all its mappings, in one transaction. The map is checked ' +
      'as a whole: each mapped action belongs to the suite, each tool to the server, each parameter mapping joins ' +
      'a parameter of that action to a parameter of that tool of the same ParameterType (compatible means ' +
      'identical types), and no action is mapped twice, nor a parameter twice within a mapping. Violations are a ' +
      '422 whose `details.violations` lists each broken rule with the offending ids; an unknown `suite_id` or ' +
      '`mcp_server_id` is a 422 too. Needs `catalog:write`.',
    // What a map refers to is checked as a whole, and refused as a 422: this operation documents no 409.
    errors: [],
    body: CreateActionToolMapBody,
    response: { description: 'The map with its full tree.', schema: ActionToolMapSchema },
    run: (db, { body }) => createActionToolMap(db, body),
  },
  get: {
    operationId: 'getActionToolMap',
    summary: 'Get an action-tool map with its full tree',
    description:
      'The map with its mappings (by action name), each naming its action and tool by id and name, and their ' +
      'parameter mappings (in the action\'s parameter order), each naming both parameters by id and name.',
    response: { description: 'The map.', schema: ActionToolMapSchema },
    run: (db, { params }) => getActionToolMap(db, params.id),
  },
  delete: {
    operationId: 'deleteActionToolMap',
    summary: 'Delete an action-tool map',
    description:
      'Deletes the map with its mappings. 409, deleting nothing, while examples were generated with it. Needs ' +
      '`catalog:write`.',
    run: (db, { params }) => deleteActionToolMap(db, params.id),
  },
});
