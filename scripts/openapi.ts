/**
 * `npm run openapi [-- <file>]`: writes the OpenAPI document (default ./openapi.json) for client generation.
 * It loads the functions the way the host does, outside the Functions runtime: `@azure/functions` then only
 * warns that it registers nothing, while every route still registers its schemas in the OpenAPI registry.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateOpenApiDocument } from '../shared/openapi/registry.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const functionsDir = join(root, 'dist/functions');
const target = resolve(process.argv[2] ?? 'openapi.json');

const warn = console.warn;
console.warn = () => undefined; // "Skipping call to register function ... test mode", once per function
for (const file of readdirSync(functionsDir).filter((name) => name.endsWith('.js')).sort()) {
  await import(pathToFileURL(join(functionsDir, file)).href);
}
console.warn = warn;

writeFileSync(target, JSON.stringify(generateOpenApiDocument(process.env.PUBLIC_BASE_URL), null, 2) + '\n');
console.log(`Wrote ${target}`);
