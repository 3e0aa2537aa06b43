import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Expands package.json `main` the way the worker's globby call does for the patterns apps use: `*`, `?`,
 * `[abc]`, `**` and `{a,b}`; dotfiles only when the pattern names them. Answers paths relative to `cwd`, sorted
 * per pattern. Node 20 has no fs.glob, and one small function beats a dependency for this.
 */
export function expandGlob(cwd: string, pattern: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  for (const expanded of expandBraces(pattern.replace(/^\.\//, ''))) {
    const matches = walk(cwd, '', expanded.split('/').filter((s) => s !== '' && s !== '.')).sort();
    for (const match of matches) {
      if (!seen.has(match)) {
        seen.add(match);
        found.push(match);
      }
    }
  }
  return found;
}

function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    if (pattern[i] === '{') depth++;
    else if (pattern[i] === '}' && --depth === 0) {
      const alternatives = splitTopLevel(pattern.slice(open + 1, i));
      const head = pattern.slice(0, open);
      const tail = pattern.slice(i + 1);
      return alternatives.flatMap((alt) => expandBraces(head + alt + tail));
    }
  }
  return [pattern];
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '{') depth++;
    else if (body[i] === '}') depth--;
    else if (body[i] === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}

function hasMagic(segment: string): boolean {
  return /[*?[]/.test(segment);
}

function segmentRegex(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 1);
      if (close < 0) source += '\\[';
      else {
        source += `[${segment.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function walk(cwd: string, relative: string, segments: string[]): string[] {
  const [segment, ...rest] = segments;
  const here = join(cwd, relative);
  if (segment === undefined) return relative !== '' && isFile(here) ? [relative] : [];
  if (segment === '**') {
    const results = walk(cwd, relative, rest);
    for (const entry of listDir(here)) {
      if (entry.startsWith('.') || entry === 'node_modules') continue;
      const child = relative ? `${relative}/${entry}` : entry;
      if (isDirectory(join(cwd, child))) results.push(...walk(cwd, child, segments));
    }
    return results;
  }
  if (!hasMagic(segment)) return walk(cwd, relative ? `${relative}/${segment}` : segment, rest);
  const regex = segmentRegex(segment);
  const results: string[] = [];
  for (const entry of listDir(here)) {
    if (entry.startsWith('.') && !segment.startsWith('.')) continue;
    if (regex.test(entry)) results.push(...walk(cwd, relative ? `${relative}/${entry}` : entry, rest));
  }
  return results;
}
