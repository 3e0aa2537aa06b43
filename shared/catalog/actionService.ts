import { ApiError } from '../errors/apiError.js';
import type { ActionResponse, CreateActionInput, UpdateActionInput } from './actionSchemas.js';
import { ACTION_TABLES } from './parameterizedChildRepository.js';
import { parameterizedChildService } from './parameterizedChildService.js';
import { findParameterUses } from './parameterUseRepository.js';
import { suiteNotFound } from './parentNotFound.js';
import { suiteExists, suiteExistsLocked } from './suiteRepository.js';

/** Actions: the parameterized children of suites. */
const actions = parameterizedChildService<ActionResponse, CreateActionInput, UpdateActionInput>({
  tables: ACTION_TABLES,
  entity: 'action',
  parentField: 'suite_id',
  parentNotFound: suiteNotFound,
  childNotFound: () => ApiError.notFound('No action with this id in this suite.'),
  parentExists: suiteExists,
  parentExistsLocked: suiteExistsLocked,
  findParameterUses: (db, actionId) => findParameterUses(db, 'action', actionId),
});

export const {
  toResponse: toActionResponse,
  list: listActions,
  get: getAction,
  insertWithParameters: insertActionWithParameters,
  create: createAction,
  update: updateAction,
  remove: deleteAction,
} = actions;
