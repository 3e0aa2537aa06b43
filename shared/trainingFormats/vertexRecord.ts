import type { ToolWithParameters } from '../catalog/mcpToolsFormat.js';
import type { CanonicalMessage } from '../examples/conversationCanonicalizer.js';
import { toTurns } from './conversationTurns.js';

/*
 * Vertex AI's supervised tuning line for Gemini
 * (https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare, and for tools
 * https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-function-calling):
 * `{ "systemInstruction": { role, parts: [{ text }] }, "contents": [{ role: "user" | "model", parts }], "tools":
 * [{ "functionDeclarations": [{ name, description, parameters }] }] }`.
 * - A content's role is "user" or "model" only (Content.role:
 *   https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/Content), so turns alternate: an
 *   assistant's text and calls are one model content with `text` and `functionCall: { name, args }` parts, and
 *   tool results a user content with `functionResponse: { name, response: { output } }` parts (the "output" key
 *   holds a function's output: FunctionResponse.response), before any user text of the same turn.
 * - System messages become the one `systemInstruction` (joined with a blank line), wherever they were.
 * - `parameters` use Vertex's Schema (an OpenAPI subset) with upper-case types (`OBJECT`, `STRING`, ...), as the
 *   tuning examples do. Gemini refuses an ARRAY schema without `items`, and the catalog records no element type:
 *   arrays are declared as arrays of strings (the lint report warns).
 * - There is no per-message weight: an assistant message with weight 0 is trained on like the others.
 */

type VertexPart =
  | { text: string }
  | { functionCall: { name: string; args: Record<string, unknown> } }
  | { functionResponse: { name: string; response: { output: string } } };

export interface VertexContent {
  role: 'user' | 'model';
  parts: VertexPart[];
}

interface VertexSchema {
  type: 'STRING' | 'NUMBER' | 'BOOLEAN' | 'OBJECT' | 'ARRAY';
  description?: string;
  items?: VertexSchema;
}

export interface VertexFunctionDeclaration {
  name: string;
  description?: string;
  parameters: { type: 'OBJECT'; properties: Record<string, VertexSchema>; required: string[] };
}

export interface VertexRecord {
  systemInstruction?: { role: 'system'; parts: [{ text: string }] };
  contents: VertexContent[];
  tools: [{ functionDeclarations: VertexFunctionDeclaration[] }];
}

/** The element type given to ARRAY parameters, which the catalog does not record. */
export const VERTEX_ASSUMED_ITEMS: VertexSchema = { type: 'STRING' };

export function vertexFunctionDeclaration(tool: ToolWithParameters): VertexFunctionDeclaration {
  return {
    name: tool.name,
    ...(tool.description !== null ? { description: tool.description } : {}),
    parameters: {
      type: 'OBJECT',
      properties: Object.fromEntries(
        tool.parameters.map((parameter) => [
          parameter.name,
          {
            type: parameter.type,
            ...(parameter.description !== null ? { description: parameter.description } : {}),
            ...(parameter.type === 'ARRAY' ? { items: VERTEX_ASSUMED_ITEMS } : {}),
          },
        ]),
      ),
      required: tool.parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name),
    },
  };
}

export function toVertexRecord(messages: CanonicalMessage[], tools: ToolWithParameters[]): VertexRecord {
  const { system, turns } = toTurns(messages);
  const contents = turns.map((turn): VertexContent => {
    if (turn.side === 'user') {
      return {
        role: 'user',
        parts: [
          ...turn.results.map((result) => ({
            functionResponse: { name: result.name, response: { output: result.content } },
          })),
          ...turn.texts.map((text) => ({ text })),
        ],
      };
    }
    return {
      role: 'model',
      parts: turn.parts.map((part) =>
        part.kind === 'text' ? { text: part.text } : { functionCall: { name: part.name, args: part.input } },
      ),
    };
  });
  return {
    ...(system !== null ? { systemInstruction: { role: 'system' as const, parts: [{ text: system }] as [{ text: string }] } } : {}),
    contents,
    tools: [{ functionDeclarations: tools.map(vertexFunctionDeclaration) }],
  };
}
