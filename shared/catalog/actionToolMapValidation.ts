import type { ParameterType } from '../db/schema.js';
import type { CreateActionToolMapInput } from './actionToolMapSchemas.js';

/*
 * The rules an action-tool map must keep (CONTRACT.md, Entities): a mapping joins an action of the map's suite to
 * a tool of the map's server, a parameter mapping joins a parameter of that action to a parameter of that tool,
 * and the two parameters are compatible. Compatible means the same ParameterType: the pipelines service copies an
 * action argument into the tool call as it is, so a STRING can only fill a string, an ARRAY an array, and so on.
 * An action is mapped at most once per map (the pipelines service must know which tool performs it), and within a
 * mapping each action parameter and each tool parameter at most once.
 */

export type MapRule =
  | 'action_mapped_twice'
  | 'action_not_in_suite'
  | 'tool_not_in_server'
  | 'action_parameter_not_of_action'
  | 'tool_parameter_not_of_tool'
  | 'action_parameter_mapped_twice'
  | 'tool_parameter_mapped_twice'
  | 'incompatible_parameter_types';

export interface MapViolation {
  rule: MapRule;
  /** Where in the request body, e.g. `mappings.2.tool_id`. */
  field: string;
  message: string;
  action_id?: string;
  tool_id?: string;
  action_parameter_id?: string;
  tool_parameter_id?: string;
  action_parameter_type?: ParameterType;
  tool_parameter_type?: ParameterType;
}

/** What the database says about the ids a map request names (ids it does not know are absent). */
export interface MapFacts {
  actions: Map<string, { suite_id: string }>;
  tools: Map<string, { mcp_server_id: string }>;
  actionParameters: Map<string, { action_id: string; type: ParameterType }>;
  toolParameters: Map<string, { tool_id: string; type: ParameterType }>;
}

export interface MapIds {
  actionIds: string[];
  toolIds: string[];
  actionParameterIds: string[];
  toolParameterIds: string[];
}

/** Every id the request names, once each, to load the facts about them. */
export function idsNamedBy(input: CreateActionToolMapInput): MapIds {
  const unique = (ids: string[]) => [...new Set(ids)];
  const parameterMappings = input.mappings.flatMap((mapping) => mapping.parameter_mappings);
  return {
    actionIds: unique(input.mappings.map((mapping) => mapping.action_id)),
    toolIds: unique(input.mappings.map((mapping) => mapping.tool_id)),
    actionParameterIds: unique(parameterMappings.map((pm) => pm.action_parameter_id)),
    toolParameterIds: unique(parameterMappings.map((pm) => pm.tool_parameter_id)),
  };
}

export function findMapViolations(input: CreateActionToolMapInput, facts: MapFacts): MapViolation[] {
  const violations: MapViolation[] = [];
  const mappedActions = new Set<string>();

  input.mappings.forEach((mapping, i) => {
    const at = `mappings.${i}`;
    const { action_id, tool_id } = mapping;
    if (mappedActions.has(action_id)) {
      violations.push({
        rule: 'action_mapped_twice',
        field: `${at}.action_id`,
        message: `Action ${action_id} is mapped more than once.`,
        action_id,
      });
    }
    mappedActions.add(action_id);

    if (facts.actions.get(action_id)?.suite_id !== input.suite_id) {
      violations.push({
        rule: 'action_not_in_suite',
        field: `${at}.action_id`,
        message: `Action ${action_id} is not an action of suite ${input.suite_id}.`,
        action_id,
      });
    }
    if (facts.tools.get(tool_id)?.mcp_server_id !== input.mcp_server_id) {
      violations.push({
        rule: 'tool_not_in_server',
        field: `${at}.tool_id`,
        message: `Tool ${tool_id} is not a tool of MCP server ${input.mcp_server_id}.`,
        tool_id,
      });
    }

    const mappedActionParameters = new Set<string>();
    const mappedToolParameters = new Set<string>();
    mapping.parameter_mappings.forEach((parameterMapping, j) => {
      const pat = `${at}.parameter_mappings.${j}`;
      const { action_parameter_id, tool_parameter_id } = parameterMapping;
      const actionParameter = facts.actionParameters.get(action_parameter_id);
      const toolParameter = facts.toolParameters.get(tool_parameter_id);
      const actionParameterFits = actionParameter?.action_id === action_id;
      const toolParameterFits = toolParameter?.tool_id === tool_id;
      if (!actionParameterFits) {
        violations.push({
          rule: 'action_parameter_not_of_action',
          field: `${pat}.action_parameter_id`,
          message: `Parameter ${action_parameter_id} is not a parameter of action ${action_id}.`,
          action_id,
          action_parameter_id,
        });
      }
      if (!toolParameterFits) {
        violations.push({
          rule: 'tool_parameter_not_of_tool',
          field: `${pat}.tool_parameter_id`,
          message: `Parameter ${tool_parameter_id} is not a parameter of tool ${tool_id}.`,
          tool_id,
          tool_parameter_id,
        });
      }
      if (mappedActionParameters.has(action_parameter_id)) {
        violations.push({
          rule: 'action_parameter_mapped_twice',
          field: `${pat}.action_parameter_id`,
          message: `Action parameter ${action_parameter_id} is mapped more than once in this mapping.`,
          action_id,
          action_parameter_id,
        });
      }
      if (mappedToolParameters.has(tool_parameter_id)) {
        violations.push({
          rule: 'tool_parameter_mapped_twice',
          field: `${pat}.tool_parameter_id`,
          message: `Tool parameter ${tool_parameter_id} is filled more than once in this mapping.`,
          tool_id,
          tool_parameter_id,
        });
      }
      mappedActionParameters.add(action_parameter_id);
      mappedToolParameters.add(tool_parameter_id);
      if (actionParameterFits && toolParameterFits && actionParameter.type !== toolParameter.type) {
        violations.push({
          rule: 'incompatible_parameter_types',
          field: pat,
          message:
            `Action parameter ${action_parameter_id} is ${actionParameter.type} but tool parameter ` +
            `${tool_parameter_id} is ${toolParameter.type}; mapped parameters must have the same type.`,
          action_parameter_id,
          tool_parameter_id,
          action_parameter_type: actionParameter.type,
          tool_parameter_type: toolParameter.type,
        });
      }
    });
  });
  return violations;
}
