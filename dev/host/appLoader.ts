import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expandGlob } from './entryPointGlob.js';
import { parseTimeSpan } from './timeSpan.js';

/**
 * Loads the app the way the Node.js worker does (azure-functions-nodejs-worker src/startApp.ts and
 * loadScriptFile.ts): package.json `main`, a path or a glob, every match loaded in order, ESM through `import()`
 * and CommonJS through `require`, decided by the extension and package.json `type`. Also reads the host.json
 * settings the local host honours.
 */

export interface QueueSettings {
  /** host.json extensions.queues.messageEncoding; Azure's default is base64. */
  messageEncoding: 'base64' | 'none';
  maxDequeueCount: number;
  batchSize: number;
  /** Delay before a failed message is visible again (extensions.queues.visibilityTimeout, default 0). */
  visibilityTimeoutMs: number;
}

export interface HostConfig {
  /** extensions.http.routePrefix; default 'api', '' allowed. */
  routePrefix: string;
  queues: QueueSettings;
  /** logging.logLevel, as written. */
  logLevels: Record<string, unknown>;
  /** host.json `functions`: when present, only these functions run. */
  functions: string[] | undefined;
}

interface PackageJson {
  main?: unknown;
  type?: unknown;
}

function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function objectAt(value: unknown, ...keys: string[]): Record<string, unknown> {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null) return {};
    // host.json keys are case-insensitive in Azure (it binds them through .NET configuration).
    const entry = Object.entries(current).find(([k]) => k.toLowerCase() === key.toLowerCase());
    current = entry?.[1];
  }
  return typeof current === 'object' && current !== null ? (current as Record<string, unknown>) : {};
}

function valueAt(obj: Record<string, unknown>, key: string): unknown {
  return Object.entries(obj).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
}

export function readHostConfig(appDir: string): HostConfig {
  const path = join(appDir, 'host.json');
  const hostJson = existsSync(path) ? readJson(path) : {};
  const http = objectAt(hostJson, 'extensions', 'http');
  const queues = objectAt(hostJson, 'extensions', 'queues');
  const routePrefix = valueAt(http, 'routePrefix');
  const encoding = valueAt(queues, 'messageEncoding');
  const visibility = valueAt(queues, 'visibilityTimeout');
  const functions = valueAt(typeof hostJson === 'object' && hostJson !== null ? (hostJson as Record<string, unknown>) : {}, 'functions');
  return {
    routePrefix: typeof routePrefix === 'string' ? routePrefix.replace(/^\/+|\/+$/g, '') : 'api',
    queues: {
      messageEncoding: typeof encoding === 'string' && encoding.toLowerCase() === 'none' ? 'none' : 'base64',
      maxDequeueCount: positiveInt(valueAt(queues, 'maxDequeueCount'), 5),
      batchSize: Math.min(positiveInt(valueAt(queues, 'batchSize'), 16), 32),
      visibilityTimeoutMs: (typeof visibility === 'string' ? parseTimeSpan(visibility) : undefined) ?? 0,
    },
    logLevels: objectAt(hostJson, 'logging', 'logLevel'),
    functions: Array.isArray(functions) ? functions.map(String) : undefined,
  };
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Imports every entry point file; answers the files loaded (relative to appDir). */
export async function loadEntryPoints(appDir: string): Promise<string[]> {
  const dir = resolve(appDir);
  const packageJsonPath = join(dir, 'package.json');
  if (!existsSync(packageJsonPath)) throw new Error(`No package.json in ${dir}.`);
  const packageJson = readJson(packageJsonPath) as PackageJson;
  if (typeof packageJson.main !== 'string' || packageJson.main.trim() === '') {
    throw new Error(`${packageJsonPath} has no "main": the v4 programming model loads the functions from it.`);
  }
  const files = expandGlob(dir, packageJson.main);
  if (files.length === 0) {
    throw new Error(`Found zero files matching "${packageJson.main}" in ${dir} (is the app built?).`);
  }
  const requireFromApp = createRequire(join(dir, 'package.json'));
  for (const file of files) {
    const fullPath = join(dir, file);
    if (isESModule(fullPath, packageJson)) await import(pathToFileURL(fullPath).href);
    else requireFromApp(fullPath);
  }
  return files;
}

function isESModule(filePath: string, packageJson: PackageJson): boolean {
  if (filePath.endsWith('.mjs')) return true;
  if (filePath.endsWith('.cjs')) return false;
  return packageJson.type === 'module';
}
