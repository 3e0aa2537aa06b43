import { z } from '../openapi/zod.js';
import { CATALOG_LIMITS } from './catalogFieldSchemas.js';
import { parentWithChildrenSchemas } from './parentWithChildrenSchemas.js';
import { CreateToolBody, ToolSchema } from './toolSchemas.js';

const ServerUrl = z
  .url({ protocol: /^https?$/ })
  .max(CATALOG_LIMITS.urlMaxLength)
  .nullable()
  .openapi({
    description: `Where the server listens: an http(s) URL of at most ${CATALOG_LIMITS.urlMaxLength} characters.`,
  });

export const {
  Schema: McpServerSchema,
  WithChildrenSchema: McpServerWithToolsSchema,
  PageSchema: McpServerPageSchema,
  ListQuery: McpServerListQuery,
  CreateBody: CreateMcpServerBody,
  UpdateBody: UpdateMcpServerBody,
} = parentWithChildrenSchemas({
  name: 'McpServer',
  description: 'An MCP server definition: the tool surface that actions are mapped onto.',
  own: { url: z.string().nullable() },
  ownInput: { url: ServerUrl.optional() },
  children: 'tools',
  childSchema: ToolSchema,
  childCreateBody: CreateToolBody,
  childrenDoc: 'Every tool of the server, by name.',
  createChildrenDoc: `Tools created with the server, at most ${CATALOG_LIMITS.childrenPerCreate}.`,
  nameFilterDoc: 'Only the server of this name (compared case-insensitively).',
  nameExample: 'gmail-mcp',
});

export type McpServerResponse = z.infer<typeof McpServerSchema>;
export type McpServerWithToolsResponse = z.infer<typeof McpServerWithToolsSchema>;
export type McpServerListFilters = z.infer<typeof McpServerListQuery>;
export type CreateMcpServerInput = z.infer<typeof CreateMcpServerBody>;
export type UpdateMcpServerInput = z.infer<typeof UpdateMcpServerBody>;
