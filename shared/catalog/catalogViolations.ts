import { constraintViolationOf } from '../db/constraintViolation.js';
import { ApiError } from '../errors/apiError.js';

/*
 * Turns the constraint violations of catalog writes into the caller's 409s (and 404s). The database is the one
 * that enforces uniqueness and references (migrations/0002_catalog.ts), so two concurrent requests cannot both
 * get past a check made in code; this module only says what a violated constraint means.
 */

const UNIQUE_MESSAGES: Record<string, string> = {
  suites_name_lower_key: 'A suite with this name already exists (names are compared case-insensitively).',
  actions_suite_id_name_key: 'This suite already has an action with this name.',
  mcp_servers_name_lower_key: 'An MCP server with this name already exists (names are compared case-insensitively).',
  tools_mcp_server_id_name_key: 'This MCP server already has a tool with this name.',
  models_provider_name_lower_key:
    'A model with this provider and name already exists (names are compared case-insensitively).',
};

const PARAMETER_OWNER_BY_CONSTRAINT: Record<string, 'action' | 'tool'> = {
  action_parameters_action_id_name_key: 'action',
  tool_parameters_tool_id_name_key: 'tool',
};

/* The 404s of the parents, which the parent's service and its children's service both give. */
export function suiteNotFound(): ApiError {
  return ApiError.notFound('No suite with this id.');
}

export function mcpServerNotFound(): ApiError {
  return ApiError.notFound('No MCP server with this id.');
}

/*
 * An action or a tool written below a parent that does not exist fails its foreign key: the parent's 404. The
 * check also key-share locks the parent row, so that it cannot be deleted before the child is committed
 * (https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-ROWS).
 */
const MISSING_PARENT_BY_CONSTRAINT: Record<string, () => ApiError> = {
  actions_suite_id_fkey: suiteNotFound,
  tools_mcp_server_id_fkey: mcpServerNotFound,
};

const REFERRER_NAMES: Record<string, string> = {
  sessions: 'sessions',
  examples: 'examples',
  token_usage: 'recorded token usage',
  action_tool_maps: 'action-tool maps',
  action_tool_mappings: 'action-tool maps',
  action_tool_parameter_mappings: 'action-tool maps',
};

export function duplicateParameterError(owner: 'action' | 'tool', names: string[]): ApiError {
  return ApiError.conflict(`Two parameters of the ${owner} have the same name: ${names.join(', ')}.`, {
    field: 'parameters',
    duplicate_names: names,
  });
}

/** Names that occur more than once, each once. */
export function duplicatesOf(names: string[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) duplicates.add(name);
    seen.add(name);
  }
  return [...duplicates];
}

export interface ViolationContext {
  /** What is being written, for messages: "suite", "action"... */
  entity: string;
  /** What to name in a 409 for a unique violation, e.g. `{ field: 'name', name: 'Gmail' }`. */
  values?: Record<string, unknown>;
  /** Parameter names of the request, to name the duplicates if their unique constraint fails. */
  parameterNames?: string[];
}

/** The 409 for a catalog constraint violation, or null when the error is something else. */
export function catalogViolationError(error: unknown, context: ViolationContext): ApiError | null {
  const violation = constraintViolationOf(error);
  if (!violation) return null;
  if (violation.kind === 'unique') {
    const constraint = violation.constraint ?? '';
    const parameterOwner = PARAMETER_OWNER_BY_CONSTRAINT[constraint];
    if (parameterOwner) return duplicateParameterError(parameterOwner, duplicatesOf(context.parameterNames ?? []));
    const message = UNIQUE_MESSAGES[constraint] ?? `This ${context.entity} conflicts with one that already exists.`;
    return ApiError.conflict(message, { ...context.values });
  }
  if (violation.kind === 'foreign_key') {
    const missingParent = MISSING_PARENT_BY_CONSTRAINT[violation.constraint ?? ''];
    if (missingParent) return missingParent();
    const referrer = REFERRER_NAMES[violation.table ?? ''] ?? violation.table ?? 'other records';
    return ApiError.conflict(
      `This ${context.entity} is still referenced by ${referrer}; it cannot be deleted or replaced until they are.`,
      { referenced_by: violation.table ?? null },
    );
  }
  return null;
}

/** Runs a catalog write and rethrows its constraint violations as 409s. */
export async function withCatalogViolations<T>(context: ViolationContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw catalogViolationError(error, context) ?? error;
  }
}
