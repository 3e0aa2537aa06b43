import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/*
 * Just enough of Bicep's syntax to check that the files refer to each other consistently, since the Bicep compiler
 * cannot run here (infra/README.md lists the compiler's own checks to run first on a real subscription): the
 * declarations (param, var, output, module, resource) at the top level of a file, a module's path and the names its
 * `params` object passes, and every `<module>.outputs.<name>` read. Strings (with ${} interpolations, '''
 * multi-line strings) and comments are skipped, so braces inside them do not count.
 */

export interface BicepModuleUse {
  symbol: string;
  path: string;
  /** Names given in its `params: { ... }`. */
  params: string[];
}

export interface BicepFile {
  path: string;
  text: string;
  /** Parameter name -> whether it has a default. */
  params: Map<string, { hasDefault: boolean }>;
  vars: Set<string>;
  outputs: Set<string>;
  modules: BicepModuleUse[];
  /** `<symbol>.outputs.<name>` reads. */
  outputReads: Array<{ symbol: string; name: string }>;
}

/** The text with comments and string contents blanked (same length and line breaks), so that structure stands out. */
export function blankStringsAndComments(text: string): string {
  let out = '';
  let i = 0;
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  while (i < text.length) {
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      const stop = end < 0 ? text.length : end + 3;
      out += `'${blank(text.slice(i + 1, stop - 1))}'`;
      i = stop;
    } else if (text[i] === "'") {
      let j = i + 1;
      let inner = '';
      while (j < text.length && text[j] !== "'") {
        if (text[j] === '\\') {
          inner += '  ';
          j += 2;
        } else if (text.startsWith('${', j)) {
          // An interpolation is code: kept, so that module outputs read inside strings count.
          let depth = 1;
          let k = j + 2;
          while (k < text.length && depth > 0) {
            if (text[k] === '{') depth += 1;
            if (text[k] === '}') depth -= 1;
            k += 1;
          }
          inner += text.slice(j, k);
          j = k;
        } else {
          inner += text[j] === '\n' ? '\n' : ' ';
          j += 1;
        }
      }
      out += `'${inner}'`;
      i = j + 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

/** The text of the `{ ... }` that opens at or after `from` (without the braces). */
function braceBody(code: string, from: number): { body: string; end: number } {
  const open = code.indexOf('{', from);
  let depth = 0;
  for (let i = open; i < code.length; i += 1) {
    if (code[i] === '{') depth += 1;
    if (code[i] === '}') {
      depth -= 1;
      if (depth === 0) return { body: code.slice(open + 1, i), end: i };
    }
  }
  throw new Error(`unbalanced braces after offset ${from}`);
}

/** Keys at the top level of an object body. */
function topLevelKeys(body: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const line of body.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(line);
    if (depth === 0 && match) keys.push(match[1] as string);
    for (const c of line) {
      if (c === '{' || c === '[' || c === '(') depth += 1;
      if (c === '}' || c === ']' || c === ')') depth -= 1;
    }
  }
  return keys;
}

export function parseBicep(path: string): BicepFile {
  const text = readFileSync(path, 'utf8');
  const code = blankStringsAndComments(text);
  const params = new Map<string, { hasDefault: boolean }>();
  for (const match of code.matchAll(/^param\s+([A-Za-z_]\w*)\s+[^\n=]+(=[^\n]*)?$/gm)) {
    params.set(match[1] as string, { hasDefault: match[2] !== undefined });
  }
  const vars = new Set([...code.matchAll(/^var\s+([A-Za-z_]\w*)\s*=/gm)].map((match) => match[1] as string));
  const outputs = new Set([...code.matchAll(/^output\s+([A-Za-z_]\w*)\s/gm)].map((match) => match[1] as string));
  const modules: BicepModuleUse[] = [];
  for (const match of code.matchAll(/^module\s+([A-Za-z_]\w*)\s+'/gm)) {
    const symbol = match[1] as string;
    const pathStart = (match.index ?? 0) + match[0].length;
    const modulePath = text.slice(pathStart, text.indexOf("'", pathStart));
    const { body } = braceBody(code, pathStart + modulePath.length);
    const paramsAt = /^\s*params\s*:\s*\{/m.exec(body);
    const moduleParams = paramsAt ? topLevelKeys(braceBody(body, paramsAt.index).body) : [];
    modules.push({ symbol, path: modulePath, params: moduleParams });
  }
  const outputReads = [...code.matchAll(/\b([A-Za-z_]\w*)(?:!)?\.outputs\.([A-Za-z_]\w*)/g)].map((match) => ({
    symbol: match[1] as string,
    name: match[2] as string,
  }));
  return { path, text, params, vars, outputs, modules, outputReads };
}

/** Every .bicep file under `dir`, parsed. */
export function parseBicepTree(dir: string): BicepFile[] {
  const files: BicepFile[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.bicep')) files.push(parseBicep(full));
    }
  };
  walk(dir);
  return files;
}

export function modulePathOf(file: BicepFile, use: BicepModuleUse, root: string): string {
  return relative(root, join(dirname(file.path), use.path));
}
