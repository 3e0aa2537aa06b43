#!/usr/bin/env node
// Deletes what dist/ holds of source files that no longer exist. `tsc -b` (incremental) never removes the output
// of a deleted .ts file, and the functions bundle (package.json `main`) is built from every dist/functions/*.js: a
// function file removed or renamed would otherwise still register, twice over with its new home. Plain JavaScript,
// so that it runs before anything is built. Usage: node scripts/pruneStaleOutputs.mjs (from anywhere).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const OUTPUT = /\.(js|js\.map|d\.ts|d\.ts\.map)$/;
// The functions bundle (scripts/bundleFunctions.ts) has no source of its own; its script replaces it whole.
const BUNDLE = join(dist, 'app');

function sourceOf(output) {
  const base = relative(dist, output).replace(OUTPUT, '');
  return join(root, `${base}.ts`);
}

function prune(folder) {
  let removed = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (path !== BUNDLE) removed += prune(path);
    } else if (OUTPUT.test(entry.name) && !existsSync(sourceOf(path))) {
      rmSync(path);
      removed++;
    }
  }
  return removed;
}

if (existsSync(dist)) {
  const removed = prune(dist);
  if (removed > 0) console.log(`Removed ${removed} file(s) of dist/ whose source is gone.`);
}
