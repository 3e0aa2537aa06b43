/**
 * `node dist/scripts/bundleFunctions.js`, the last step of every build: bundles the compiled functions
 * (dist/functions/*.js, every file in the order the old `main` glob loaded them) into dist/app/functions.js, the
 * package's `main`. Importing `main` is the Azure cold start, and most of what it cost was the ESM loader itself:
 * resolving, reading, compiling and linking 645 files one by one (264 of them Kysely's). One file
 * loads in about a third of the time (README, "Cold start").
 *
 * What stays out of the bundle, loaded from node_modules as before:
 * - `@azure/functions`: it must find the module `@azure/functions-core` that the worker (or the local host)
 *   provides, and it holds the registrations: one instance, the worker's;
 * - `@azure/identity`: used only in Azure (the managed identity), where nothing here can test a bundled copy;
 *   it is loaded on first use anyway, so it costs the start nothing.
 * Modules the app imports with `import()` (Stripe, MCP, A2A, the storage SDKs, JOSE: shared/runtime/lazily.ts)
 * become chunks of their own under dist/app/chunks/, still loaded on first use.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const functionsDir = join(root, 'dist/functions');
const outdir = join(root, 'dist/app');
const bundle = join(outdir, 'functions.js');
/** What the last bundle was made of (the inputs of esbuild's metafile), to tell whether it is still current. */
const record = join(outdir, 'meta.json');
/** The entry, made here (esbuild's stdin): the metafile names it as if it were a file in dist/functions/. */
const entryName = 'functions.js';

// The functions register in the order they are imported, as they did when the host imported each file.
const entry = readdirSync(functionsDir)
  .filter((name) => name.endsWith('.js'))
  .sort()
  .map((name) => `import './${name}';`)
  .join('\n');

/**
 * Whether the bundle was built from this entry and nothing it read has changed since, as `tsc -b` skips a build
 * when no source changed (npm start runs the build every time). npm gives installed files the dates in their
 * tarballs, often older than any build: an install is seen by npm's own record, node_modules/.package-lock.json.
 */
function bundleIsCurrent(): boolean {
  if (!existsSync(bundle) || !existsSync(record)) return false;
  const built = statSync(bundle).mtimeMs;
  const previous = JSON.parse(readFileSync(record, 'utf8')) as { entry?: unknown; inputs?: unknown };
  if (previous.entry !== entry || !Array.isArray(previous.inputs)) return false;
  const read = [fileURLToPath(import.meta.url), join(root, 'node_modules/.package-lock.json'), ...(previous.inputs as string[])];
  return read.every((file) => existsSync(file) && statSync(file).mtimeMs <= built);
}

if (bundleIsCurrent()) process.exit(0);
// Imported only when there is something to build: the check above is all that most `npm start`s run.
const { build } = await import('esbuild');

// A chunk of an earlier build must not linger beside the new ones (they are named by content hash).
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  metafile: true,
  stdin: { contents: entry, resolveDir: functionsDir, sourcefile: entryName, loader: 'js' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  outdir,
  entryNames: 'functions',
  chunkNames: 'chunks/[name]-[hash]',
  external: ['@azure/functions', '@azure/functions-core', '@azure/identity'],
  // CommonJS packages inside an ESM bundle (pg, busboy, yauzl) call require() for Node's built-ins, which ESM has
  // not got: give each file one, as Node gives a CommonJS module its own.
  banner: { js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs)
  .map((input) => join(root, input))
  .filter((input) => input !== join(functionsDir, entryName));
writeFileSync(record, JSON.stringify({ entry, inputs }));
