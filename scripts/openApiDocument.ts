/**
 * The OpenAPI document as the API serves it, built in this process: the functions are loaded the way the host
 * loads them, outside the Functions runtime (`@azure/functions` then only warns that it registers nothing, while
 * every route still registers its schemas in the OpenAPI registry).
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateOpenApiDocument } from '../shared/openapi/registry.js';

export const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

export async function buildOpenApiDocument(publicBaseUrl?: string): Promise<ReturnType<typeof generateOpenApiDocument>> {
  // tsc's output, not the bundle that `main` names: the routes must register in the registry module imported
  // above, and the bundle holds a copy of its own. Both are built from the same sources, in the same order.
  const functionsDir = join(PROJECT_ROOT, 'dist/functions');
  const warn = console.warn;
  console.warn = () => undefined; // "Skipping call to register function ... test mode", once per function
  try {
    for (const file of readdirSync(functionsDir).filter((name) => name.endsWith('.js')).sort()) {
      await import(pathToFileURL(join(functionsDir, file)).href);
    }
  } finally {
    console.warn = warn;
  }
  return generateOpenApiDocument(publicBaseUrl);
}
