/** `npm run openapi [-- <file>]`: writes the OpenAPI document (default ./openapi.json) for client generation. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildOpenApiDocument } from './openApiDocument.js';

const target = resolve(process.argv[2] ?? 'openapi.json');
writeFileSync(target, JSON.stringify(await buildOpenApiDocument(process.env.PUBLIC_BASE_URL), null, 2) + '\n');
console.log(`Wrote ${target}`);
