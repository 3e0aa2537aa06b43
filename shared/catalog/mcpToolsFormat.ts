import type { ParameterType } from '../db/schema.js';
import type { ParameterResponse } from './catalogFieldSchemas.js';
import type { McpToolList } from './toolSchemas.js';

/** JSON Schema type of each ParameterType (https://json-schema.org/understanding-json-schema/reference/type). */
export const JSON_SCHEMA_TYPE = {
  STRING: 'string',
  NUMBER: 'number',
  BOOLEAN: 'boolean',
  OBJECT: 'object',
  ARRAY: 'array',
} as const satisfies Record<ParameterType, string>;

/** A tool with its parameters, as the catalog holds it (the parameters' ids are not needed). */
export interface ToolWithParameters {
  name: string;
  description: string | null;
  parameters: Array<Pick<ParameterResponse, 'name' | 'type' | 'required' | 'description'>>;
}

/**
 * A JSON Schema object of the tool's arguments: a property per parameter (its JSON type and description), the
 * required ones listed. MCP's `inputSchema`, OpenAI's function `parameters`, Anthropic's `input_schema`.
 */
export function toolInputSchema(tool: ToolWithParameters) {
  return {
    type: 'object' as const,
    properties: Object.fromEntries(
      tool.parameters.map((parameter) => [
        parameter.name,
        {
          type: JSON_SCHEMA_TYPE[parameter.type],
          ...(parameter.description !== null ? { description: parameter.description } : {}),
        },
      ]),
    ),
    required: tool.parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name),
  };
}

/**
 * Tools in the shape of an MCP `tools/list` result, so that a server definition can be handed to an agent
 * framework as it is (https://modelcontextprotocol.io/specification/2025-06-18/server/tools#listing-tools).
 */
export function toMcpToolList(tools: ToolWithParameters[]): McpToolList {
  return {
    tools: tools.map((tool) => ({
      name: tool.name,
      ...(tool.description !== null ? { description: tool.description } : {}),
      inputSchema: toolInputSchema(tool),
    })),
  };
}
