import { PaginationQuery, pageSchema } from '../validation/pagination.js';
import { z } from '../openapi/zod.js';
import {
  CATALOG_LIMITS,
  changesSomething,
  Description,
  DisplayName,
  NameFilter,
  NOTHING_TO_CHANGE,
  Timestamp,
} from './catalogFieldSchemas.js';
import { CreateToolBody, ToolSchema } from './toolSchemas.js';

const ServerUrl = z
  .url({ protocol: /^https?$/ })
  .max(CATALOG_LIMITS.urlMaxLength)
  .nullable()
  .openapi({
    description: `Where the server listens: an http(s) URL of at most ${CATALOG_LIMITS.urlMaxLength} characters.`,
  });

export const McpServerSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    url: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('McpServer', { description: 'An MCP server definition: the tool surface that actions are mapped onto.' });

export const McpServerWithToolsSchema = McpServerSchema.extend({
  tools: z.array(ToolSchema).openapi({ description: 'Every tool of the server, by name.' }),
}).openapi('McpServerWithTools');

export const McpServerPageSchema = pageSchema(McpServerSchema).openapi('McpServerPage');

export const McpServerListQuery = PaginationQuery.extend({
  name: NameFilter.openapi({ description: 'Only the server of this name (compared case-insensitively).' }),
});

export const CreateMcpServerBody = z
  .object({
    name: DisplayName.openapi({ description: 'Unique, compared case-insensitively.', example: 'gmail-mcp' }),
    description: Description.optional(),
    url: ServerUrl.optional(),
    tools: z
      .array(CreateToolBody)
      .max(CATALOG_LIMITS.childrenPerCreate)
      .default([])
      .openapi({ description: `Tools created with the server, at most ${CATALOG_LIMITS.childrenPerCreate}.` }),
  })
  .openapi('CreateMcpServerRequest');

export const UpdateMcpServerBody = z
  .object({ name: DisplayName.optional(), description: Description.optional(), url: ServerUrl.optional() })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('UpdateMcpServerRequest');

export type McpServerResponse = z.infer<typeof McpServerSchema>;
export type McpServerWithToolsResponse = z.infer<typeof McpServerWithToolsSchema>;
export type McpServerListFilters = z.infer<typeof McpServerListQuery>;
export type CreateMcpServerInput = z.infer<typeof CreateMcpServerBody>;
export type UpdateMcpServerInput = z.infer<typeof UpdateMcpServerBody>;
