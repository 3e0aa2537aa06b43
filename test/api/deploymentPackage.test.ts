import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expandGlob } from '../../dev/host/entryPointGlob.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { azdFunctionPackage, filesOfPackage, productionPackageDirs, writePackage, type PackageEntry } from '../support/azdPackage.js';

/*
 * The zip `azd deploy` uploads, built here the way azd builds it (test/support/azdPackage.ts) from the tree the
 * suite's global setup built (`npm run build`, as azd runs it), unpacked into a folder of its own, and loaded there
 * the way the Functions worker loads an app: whatever the package lacks fails to resolve.
 */

const funcignore = readFileSync(join(PROJECT_ROOT, '.funcignore'), 'utf8');
const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { main: string };

interface LoadedApp {
  files: string[];
  functions: Array<{ name: string; trigger: string }>;
}

/** Loads the app in `appDir` in a process of its own through the local host's loader, and lists what registered. */
function loadApp(appDir: string, scratchDir: string): LoadedApp {
  const host = (file: string) => pathToFileURL(join(PROJECT_ROOT, 'dist/dev/host', file)).href;
  const script = join(scratchDir, 'load-app.mjs');
  writeFileSync(
    script,
    [
      `import { FunctionsCore, installCoreModule } from ${JSON.stringify(host('functionsCore.js'))};`,
      `import { HostLogger } from ${JSON.stringify(host('hostLog.js'))};`,
      `import { loadEntryPoints } from ${JSON.stringify(host('appLoader.js'))};`,
      'const core = new FunctionsCore(new HostLogger(() => undefined));',
      'installCoreModule(core.createApi());',
      'const files = await loadEntryPoints(process.argv[2]);',
      'const functions = [...core.functions.values()].map((fn) => ({ name: fn.name, trigger: fn.trigger.type }));',
      'process.stdout.write(JSON.stringify({ files, functions }));',
      'process.exit(0);',
    ].join('\n'),
  );
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  return JSON.parse(execFileSync(process.execPath, [script, appDir], { cwd: appDir, env, encoding: 'utf8' })) as LoadedApp;
}

describe('the deployment package, as azd builds it', () => {
  let scratch: string;
  let appDir: string;
  let entries: PackageEntry[];
  let paths: Set<string>;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'tracepipe-package-'));
    appDir = join(scratch, 'wwwroot');
    entries = azdFunctionPackage(PROJECT_ROOT, funcignore);
    paths = new Set(entries.map((entry) => entry.path));
    writePackage(entries, appDir);
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds package.json, host.json and every file `main` names', () => {
    expect(paths.has('package.json')).toBe(true);
    expect(paths.has('host.json')).toBe(true);
    const mainFiles = expandGlob(PROJECT_ROOT, packageJson.main);
    expect(mainFiles.length).toBeGreaterThan(0);
    expect(mainFiles.filter((file) => !paths.has(file))).toEqual([]);
    expect(expandGlob(appDir, packageJson.main)).toEqual(mainFiles);
  });

  it('loads there as the worker loads it, and registers every function the app registers', async () => {
    const loaded = loadApp(appDir, scratch);
    expect(loaded.files).toEqual(expandGlob(PROJECT_ROOT, packageJson.main));
    const response = await fetch(`${inject('apiUrl')}/admin/functions`);
    const registered = (await response.json()) as Array<{ name: string; config: { bindings: Array<{ type: string; direction: string }> } }>;
    const expected = registered
      .map((fn) => ({ name: fn.name, trigger: fn.config.bindings.find((b) => b.direction === 'in' && /Trigger$/.test(b.type))?.type }))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(expected.length).toBeGreaterThan(20);
    expect(loaded.functions.sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected);
  });

  it('holds every file of every production dependency', () => {
    const dirs = productionPackageDirs(PROJECT_ROOT);
    expect(dirs).toContain('node_modules/@azure/functions');
    expect(dirs).toContain('node_modules/kysely');
    const missing = dirs.flatMap((dir) => filesOfPackage(PROJECT_ROOT, dir)).filter((file) => !paths.has(file));
    expect(missing.slice(0, 20)).toEqual([]);
  });

  it('holds nothing of the tests, the local host, the benchmarks, the infra, the CLI, the client or the sources', () => {
    const unwanted = /^(dist\/)?(test|dev|bench|infra|scripts|cli|clients)\/|^(functions|shared|migrations)\/|^\.ci\/|^local\.settings|^\.funcignore$/;
    expect([...paths].filter((path) => unwanted.test(path)).slice(0, 20)).toEqual([]);
    expect([...paths].some((path) => path.startsWith('dist/app/chunks/'))).toBe(true);
  });

  it('holds the bundle alone of the build: what tsc compiled it from stays behind, so the bundle must be whole', () => {
    expect([...paths].filter((path) => path.startsWith('dist/') && !path.startsWith('dist/app/'))).toEqual([]);
    expect(paths.has('dist/app/meta.json')).toBe(false);
  });

  it('would have lost the app with folder patterns left unanchored (what gitignore rules make of them)', () => {
    const unanchored = funcignore.replace(/^\/(?=[^\s#])/gm, '');
    const lost = new Set(azdFunctionPackage(PROJECT_ROOT, unanchored).map((entry) => entry.path));
    expect([...lost].some((path) => path.startsWith('node_modules/@azure/functions/'))).toBe(false);
  });
});
