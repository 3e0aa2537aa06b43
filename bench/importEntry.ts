/**
 * Child of the startup benchmark: imports the app's entry files (package.json `main`) the way the Functions
 * worker does and prints how long that took. `@azure/functions` is in test mode here (no runtime), which skips
 * registration, so the figure is the cost of loading the modules.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const functionsDir = join(root, 'dist/functions');
console.warn = () => undefined; // test mode warns once per function
const started = performance.now();
for (const file of readdirSync(functionsDir).filter((name) => name.endsWith('.js')).sort()) {
  await import(pathToFileURL(join(functionsDir, file)).href);
}
console.log(JSON.stringify({ import_ms: performance.now() - started }));
