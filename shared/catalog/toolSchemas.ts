import { PaginationQuery, pageSchema } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';
import {
  changesSomething,
  Description,
  IdentifierName,
  NOTHING_TO_CHANGE,
  ParameterListInput,
  ParameterListReplacement,
  ParameterSchema,
  Timestamp,
} from './catalogFieldSchemas.js';

export const ToolSchema = z
  .object({
    id: z.uuid(),
    mcp_server_id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    parameters: z.array(ParameterSchema),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Tool', { description: 'A tool of an MCP server, with its typed parameters.' });

export const ToolPageSchema = pageSchema(ToolSchema).openapi('ToolPage');

export const CreateToolBody = z
  .object({
    name: IdentifierName.openapi({ description: 'Unique within the MCP server (case-sensitive).', example: 'send_email' }),
    description: Description.optional(),
    parameters: ParameterListInput.default([]),
  })
  .openapi('CreateToolRequest');

export const UpdateToolBody = z
  .object({
    name: IdentifierName.optional(),
    description: Description.optional(),
    parameters: ParameterListReplacement,
  })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('UpdateToolRequest');

export const ServerToolsParams = z.object({ mcp_server_id: z.uuid().openapi({ description: 'The MCP server id.' }) });
export const ServerToolParams = ServerToolsParams.extend({ id: z.uuid().openapi({ description: 'The tool id.' }) });

/** One tool as MCP `tools/list` describes it: https://modelcontextprotocol.io/specification/2025-06-18/server/tools */
export const McpToolSchema = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    inputSchema: z.object({
      type: z.literal('object'),
      properties: z.record(
        z.string(),
        z.object({
          type: z.enum(['string', 'number', 'boolean', 'object', 'array']),
          description: z.string().optional(),
        }),
      ),
      required: z.array(z.string()),
    }),
  })
  .openapi('McpTool');

export const McpToolListSchema = z
  .object({ tools: z.array(McpToolSchema) })
  .openapi('McpToolList', {
    description:
      'The result of an MCP `tools/list` request: every tool of the server, by name, with a JSON Schema of its ' +
      'arguments built from its parameters.',
  });

export const ToolListQuery = PaginationQuery.extend({
  format: z.enum(['mcp']).optional().openapi({
    description:
      'mcp: answer with every tool of the server in the MCP `tools/list` shape (`page` and `per_page` do not ' +
      'apply). Omitted: a page of tools.',
  }),
});

export type ToolResponse = z.infer<typeof ToolSchema>;
export type McpToolList = z.infer<typeof McpToolListSchema>;
export type CreateToolInput = z.infer<typeof CreateToolBody>;
export type UpdateToolInput = z.infer<typeof UpdateToolBody>;
