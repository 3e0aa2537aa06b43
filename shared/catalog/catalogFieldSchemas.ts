import { PARAMETER_TYPES } from '../db/schema.js';
import { z } from '../openapi/zod.js';

/**
 * The limits of catalog fields, stated once here and shown in the OpenAPI document through the schemas below.
 * Action, tool and parameter names become function and argument names in the `tool_calls` of the training data,
 * so they are identifiers in the form every function-calling API accepts (OpenAI: `^[a-zA-Z0-9_-]{1,64}$`).
 */
export const CATALOG_LIMITS = {
  /** Suite, MCP server and action-tool map names: free text. */
  nameMaxLength: 100,
  /** Action, tool and parameter names: A-Z a-z 0-9 _ -. */
  identifierMaxLength: 64,
  modelNameMaxLength: 100,
  descriptionMaxLength: 2000,
  urlMaxLength: 2048,
  parametersPerActionOrTool: 50,
  /** Actions in one POST /v1/suites, tools in one POST /v1/mcp-servers. */
  childrenPerCreate: 100,
  mappingsPerMap: 500,
} as const;

export const IDENTIFIER_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Free-text names (suites, MCP servers, maps): trimmed, 1 to 100 characters. */
export const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(CATALOG_LIMITS.nameMaxLength)
  .openapi({ description: `Trimmed, 1 to ${CATALOG_LIMITS.nameMaxLength} characters.` });

/** Names of actions, tools and parameters. */
export const IdentifierName = z
  .string()
  .trim()
  .min(1)
  .max(CATALOG_LIMITS.identifierMaxLength)
  .regex(IDENTIFIER_PATTERN, 'Use only letters, digits, "_" and "-".')
  .openapi({
    description:
      `1 to ${CATALOG_LIMITS.identifierMaxLength} characters of A-Z, a-z, 0-9, "_" and "-" (it becomes a function ` +
      'or argument name in tool calls). Case-sensitive.',
    example: 'compose_email',
  });

/** An optional description; null clears it on PATCH. */
export const Description = z
  .string()
  .trim()
  .max(CATALOG_LIMITS.descriptionMaxLength)
  .nullable()
  .openapi({ description: `At most ${CATALOG_LIMITS.descriptionMaxLength} characters.` });

export const Timestamp = z.iso.datetime().openapi({ example: '2026-02-19T10:30:00.000Z' });

export const ParameterTypeSchema = z.enum(PARAMETER_TYPES).openapi('ParameterType', {
  description:
    'The type of an action or tool parameter; in JSON Schema (the MCP format of tools) STRING is string, NUMBER ' +
    'number, BOOLEAN boolean, OBJECT object, ARRAY array. An action parameter can be mapped onto a tool parameter ' +
    'only of the same type.',
});

export const ParameterSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    type: ParameterTypeSchema,
    required: z.boolean(),
    description: z.string().nullable(),
  })
  .openapi('Parameter', { description: 'A typed parameter of an action or a tool, in its declared order.' });

export const ParameterInputSchema = z
  .object({
    name: IdentifierName.openapi({ description: 'Unique within its action or tool.' }),
    type: ParameterTypeSchema,
    required: z.boolean().default(false),
    description: Description.optional(),
  })
  .openapi('ParameterInput');

export const ParameterListInput = z
  .array(ParameterInputSchema)
  .max(CATALOG_LIMITS.parametersPerActionOrTool)
  .openapi({
    description:
      `At most ${CATALOG_LIMITS.parametersPerActionOrTool} parameters, in order; two with the same name are a 409.`,
  });

/** The parameters of a PATCH of an action or a tool: the same rules for both. */
export const ParameterListReplacement = ParameterListInput.optional().openapi({
  description:
    'Replaces the whole parameter list. A parameter that keeps its name keeps its id, and so its place in ' +
    'action-tool maps; a mapped parameter cannot be dropped (409) nor change type (409).',
});

/** The `name` filter of a list of suites or MCP servers. */
export const NameFilter = z.string().trim().min(1).max(CATALOG_LIMITS.nameMaxLength).optional();

export type ParameterInput = z.infer<typeof ParameterInputSchema>;
export type ParameterResponse = z.infer<typeof ParameterSchema>;

export const IdParams = z.object({ id: z.uuid().openapi({ description: 'The id (a UUID).' }) });

/** A body for PATCH must change something. */
export function changesSomething(body: Record<string, unknown>): boolean {
  return Object.values(body).some((value) => value !== undefined);
}

export const NOTHING_TO_CHANGE = { message: 'Give at least one field to change.' };
