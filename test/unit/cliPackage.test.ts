import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/apiProcess.js';

/*
 * The CLI is a package of its own in waiting (cli/package.json): it imports only its own files, the typed client
 * and the dependencies it declares, at the versions the root installs, so that publishing it means no more than
 * building it. And `npx tracepipe` finds it through the root package's bin.
 */

type PackageJson = { bin?: Record<string, string>; dependencies?: Record<string, string> };
const readJson = (path: string) => JSON.parse(readFileSync(join(PROJECT_ROOT, path), 'utf8')) as PackageJson;

function sourcesUnder(folder: string): string[] {
  return readdirSync(join(PROJECT_ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name));
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)].map((match) => (match[1] ?? match[2]) as string);
}

describe('the cli/ package', () => {
  const cliPackage = readJson('cli/package.json');
  const rootPackage = readJson('package.json');

  it('imports only itself, clients/typescript, Node and its declared dependencies', () => {
    const outside: string[] = [];
    const undeclared = new Set<string>();
    for (const file of sourcesUnder('cli')) {
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('.')) {
          const target = relative(PROJECT_ROOT, resolve(dirname(join(PROJECT_ROOT, file)), specifier));
          if (!target.startsWith('cli/') && !target.startsWith('clients/typescript/')) outside.push(`${file}: ${specifier}`);
        } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
          const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string);
          if (!cliPackage.dependencies?.[name]) undeclared.add(name);
        }
      }
    }
    expect(outside).toEqual([]);
    expect([...undeclared]).toEqual([]);
  });

  it('declares its dependencies at the versions the root installs, and the root runs it as `tracepipe`', () => {
    for (const [name, range] of Object.entries(cliPackage.dependencies ?? {})) {
      expect(rootPackage.dependencies?.[name], name).toBe(range);
    }
    expect(rootPackage.bin).toEqual({ tracepipe: 'dist/cli/bin/tracepipe.js' });
    expect(readFileSync(join(PROJECT_ROOT, 'cli/bin/tracepipe.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
