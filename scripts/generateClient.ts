/** `npm run client:generate`: writes clients/typescript/src/schema.ts from the OpenAPI document. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApiDocument, PROJECT_ROOT } from './openApiDocument.js';
import { CLIENT_SCHEMA_FILE, typescriptClientSchema } from './typescriptClient.js';

const target = join(PROJECT_ROOT, CLIENT_SCHEMA_FILE);
writeFileSync(target, await typescriptClientSchema(await buildOpenApiDocument()));
console.log(`Wrote ${target}`);
