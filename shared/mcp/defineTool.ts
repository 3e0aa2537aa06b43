import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { assertScope, type ScopeRequirement } from '../auth/scopes.js';
import { assertStorableText } from '../validation/storableText.js';
import { z } from '../openapi/zod.js';
import type { McpRequestContext } from './mcpContext.js';
import { toApiError, toolError } from './toolResults.js';

export interface ToolDefinition<S extends z.ZodObject> {
  name: string;
  title: string;
  description: string;
  /**
   * The arguments, as a zod object: the SDK lists it as the tool's JSON Schema and validates the arguments with it
   * before `run` (McpServer.registerTool in @modelcontextprotocol/sdk server/mcp.js). Built from the same schemas
   * that validate the REST request, so both take the same values.
   */
  input: S;
  annotations: ToolAnnotations;
  /** The scope a key needs to call it, as REST routes declare theirs; `api` unless said. */
  scope?: ScopeRequirement;
  run: (args: z.output<S>) => Promise<CallToolResult>;
}

/**
 * Registers one tool whose failures become tool errors in the contract's shape. Before it runs, the key's scopes
 * are checked (`forbidden`) and its arguments' text, as a REST body's is (`validation_error`).
 *
 * No `outputSchema` is declared, on purpose: the SDK's client (1.32) validates `structuredContent` against it even
 * on error results (typescript-sdk issue #1943), so a declared schema would turn every `{ error }` result into a
 * client-side exception. The shape of each result is in the tool's description instead.
 */
export function defineTool<S extends z.ZodObject>(
  server: McpServer,
  context: McpRequestContext,
  tool: ToolDefinition<S>,
): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      annotations: { title: tool.title, ...tool.annotations },
    },
    (async (args: z.output<S>) => {
      try {
        assertScope(context.auth.scopes, tool.scope);
        assertStorableText(args, 'body');
        return await tool.run(args);
      } catch (error) {
        return toolError(toApiError(error, context.log, context.requestId));
      }
    }) as never,
  );
}

/**
 * The schema with a description on some fields. The REST schemas describe their fields with `.openapi()`, which
 * the SDK's JSON Schema conversion (zod's toJSONSchema) does not read; `.describe()` it does. Each field keeps its
 * rules: describe() returns the same schema with metadata added.
 */
export function describeFields<S extends z.ZodObject>(
  schema: S,
  descriptions: Partial<Record<Extract<keyof S['shape'], string>, string>>,
): S {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, description] of Object.entries(descriptions) as Array<[string, string | undefined]>) {
    const field = schema.shape[name] as z.ZodType | undefined;
    if (field && description) shape[name] = field.describe(description);
  }
  return schema.extend(shape) as S;
}

/** Descriptions of the pagination fields every list tool takes (shared/http/pagination.ts). */
export const PAGE_FIELD_DESCRIPTIONS = {
  page: 'Page number, from 1 (default 1).',
  per_page: 'Items per page, 1 to 100 (default 20). Lists are newest first.',
} as const;

/** A uuid argument naming one resource. */
export function idArgument(description: string) {
  return z.uuid().describe(description);
}
