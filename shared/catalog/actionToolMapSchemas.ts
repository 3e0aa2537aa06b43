import { PaginationQuery, pageSchema } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';
import { CATALOG_LIMITS, Description, DisplayName, ParameterTypeSchema, Timestamp } from './catalogFieldSchemas.js';

export const ParameterMappingInputSchema = z
  .object({
    action_parameter_id: z.uuid().openapi({ description: 'A parameter of the mapping\'s action.' }),
    tool_parameter_id: z.uuid().openapi({ description: 'A parameter of the mapping\'s tool, of the same type.' }),
  })
  .openapi('ActionToolParameterMappingInput');

export const MappingInputSchema = z
  .object({
    action_id: z.uuid().openapi({ description: 'An action of the map\'s suite, mapped at most once per map.' }),
    tool_id: z.uuid().openapi({ description: 'A tool of the map\'s MCP server.' }),
    parameter_mappings: z
      .array(ParameterMappingInputSchema)
      .max(CATALOG_LIMITS.parametersPerActionOrTool)
      .default([])
      .openapi({
        description:
          'Which tool parameter each action parameter fills; each action parameter and each tool parameter at ' +
          'most once.',
      }),
  })
  .openapi('ActionToolMappingInput');

export const CreateActionToolMapBody = z
  .object({
    suite_id: z.uuid(),
    mcp_server_id: z.uuid(),
    name: DisplayName.nullable().optional().openapi({ description: 'Optional label; need not be unique.' }),
    description: Description.optional(),
    mappings: z
      .array(MappingInputSchema)
      .min(1)
      .max(CATALOG_LIMITS.mappingsPerMap)
      .openapi({ description: `1 to ${CATALOG_LIMITS.mappingsPerMap} mappings, one per action.` }),
  })
  .openapi('CreateActionToolMapRequest', {
    description:
      'A map with all its mappings. It is checked as a whole: each action must belong to the suite, each tool to ' +
      'the server, each parameter mapping must join a parameter of that action to a parameter of that tool of ' +
      'the same ParameterType, and no action, nor parameter within a mapping, may be mapped twice. Violations are ' +
      'a 422 whose `details.violations` names the rule and the offending ids.',
  });

export const ParameterMappingSchema = z
  .object({
    id: z.uuid(),
    action_parameter_id: z.uuid(),
    action_parameter_name: z.string(),
    tool_parameter_id: z.uuid(),
    tool_parameter_name: z.string(),
    type: ParameterTypeSchema,
  })
  // Said here, not on `type`: re-describing a registered schema at a use would rename the component's description.
  .openapi('ActionToolParameterMapping', {
    description: 'An action parameter mapped onto a tool parameter; `type` is the type both share.',
  });

export const MappingSchema = z
  .object({
    id: z.uuid(),
    action_id: z.uuid(),
    action_name: z.string(),
    tool_id: z.uuid(),
    tool_name: z.string(),
    parameter_mappings: z.array(ParameterMappingSchema).openapi({ description: 'In the action\'s parameter order.' }),
  })
  .openapi('ActionToolMapping');

const MapFields = {
  id: z.uuid(),
  suite_id: z.uuid(),
  suite_name: z.string(),
  mcp_server_id: z.uuid(),
  mcp_server_name: z.string(),
  name: z.string().nullable(),
  description: z.string().nullable(),
  created_at: Timestamp,
};

export const ActionToolMapSchema = z
  .object({
    ...MapFields,
    mappings: z.array(MappingSchema).openapi({ description: 'By action name.' }),
  })
  .openapi('ActionToolMap', {
    description: 'Binds a suite\'s actions to the tools of an MCP server, with the full tree of mappings.',
  });

export const ActionToolMapSummarySchema = z
  .object({ ...MapFields, mapping_count: z.number().int().min(0) })
  .openapi('ActionToolMapSummary');

export const ActionToolMapPageSchema = pageSchema(ActionToolMapSummarySchema).openapi('ActionToolMapPage');

export const ActionToolMapListQuery = PaginationQuery.extend({
  suite_id: z.uuid().optional().openapi({ description: 'Only maps of this suite.' }),
  mcp_server_id: z.uuid().optional().openapi({ description: 'Only maps onto this MCP server.' }),
});

export type CreateActionToolMapInput = z.infer<typeof CreateActionToolMapBody>;
export type ActionToolMapResponse = z.infer<typeof ActionToolMapSchema>;
export type ActionToolMapSummaryResponse = z.infer<typeof ActionToolMapSummarySchema>;
export type ActionToolMapListFilters = z.infer<typeof ActionToolMapListQuery>;
