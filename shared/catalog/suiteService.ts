import { insertActionWithParameters, toActionResponse } from './actionService.js';
import { isoTimestamp } from './isoTimestamp.js';
import { suiteNotFound } from './parentNotFound.js';
import { parentWithChildrenService } from './parentWithChildrenService.js';
import type { CreateSuiteInput, SuiteResponse, UpdateSuiteInput } from './suiteSchemas.js';
import {
  deleteSuite as deleteSuiteRow,
  findSuiteWithActions,
  insertSuite,
  listSuites as listSuiteRows,
  updateSuite as updateSuiteRow,
} from './suiteRepository.js';

/** Suites: the parents of actions. */
export const {
  list: listSuites,
  get: getSuite,
  create: createSuite,
  update: updateSuite,
  remove: deleteSuite,
} = parentWithChildrenService({
  entity: 'suite',
  children: 'actions',
  notFound: suiteNotFound,
  toResponse: (row): SuiteResponse => ({
    id: row.id,
    name: row.name,
    description: row.description,
    created_at: isoTimestamp(row.created_at),
    updated_at: isoTimestamp(row.updated_at),
  }),
  find: findSuiteWithActions,
  list: listSuiteRows,
  insert: (db, input: CreateSuiteInput) =>
    insertSuite(db, { name: input.name, description: input.description ?? null }),
  update: (db, id, input: UpdateSuiteInput) =>
    updateSuiteRow(db, id, { name: input.name, description: input.description }),
  remove: deleteSuiteRow,
  childToResponse: toActionResponse,
  insertChild: insertActionWithParameters,
});
