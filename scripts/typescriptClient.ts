/**
 * The typed TypeScript client's generated half: `clients/typescript/src/schema.ts`, the document's paths and
 * schemas as types (openapi-typescript), which `openapi-fetch` turns into typed calls. Pure: the same document
 * gives the same text, byte for byte, so the committed file can be checked against the served document
 * (test/api/typescriptClient.test.ts) and regenerated with one command (`npm run client:generate`).
 */
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';

export const CLIENT_SCHEMA_FILE = join('clients', 'typescript', 'src', 'schema.ts');

const HEADER =
  '/*\n' +
  ' * Generated from the Tracepipe OpenAPI document (GET /v1/openapi.json) by openapi-typescript.\n' +
  ' * Do not edit: run `npm run client:generate`. test/api/typescriptClient.test.ts fails when it is out of date.\n' +
  ' */\n\n';

export async function typescriptClientSchema(document: object): Promise<string> {
  // openapi-typescript's own document type is stricter than ours (a plain JSON object here); the generator
  // validates the document itself.
  const ast = await openapiTS(document as Parameters<typeof openapiTS>[0]);
  return HEADER + astToString(ast);
}
