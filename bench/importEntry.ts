/**
 * Child of the startup benchmark: imports the app's entry files (package.json `main`, expanded as the worker
 * expands it) the way the Functions worker does and prints how long that took. `@azure/functions` is in test mode
 * here (no runtime), which skips registration, so the figure is the cost of loading the modules.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { expandGlob } from '../dev/host/entryPointGlob.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const { main } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
const files = expandGlob(root, main);
console.warn = () => undefined; // test mode warns once per function
const started = performance.now();
for (const file of files) {
  await import(pathToFileURL(join(root, file)).href);
}
console.log(JSON.stringify({ import_ms: performance.now() - started }));
