import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBlobPath } from '../../dev/host/blobPath.js';
import { expandGlob } from '../../dev/host/entryPointGlob.js';
import { HttpRouteTable, matchRouteTemplate, parseRouteTemplate } from '../../dev/host/httpRoutes.js';
import { parseTimeSpan } from '../../dev/host/timeSpan.js';
import { parseTimerSchedule } from '../../dev/host/timerSchedule.js';

/** Pure parts of the local Functions host: route templates, blob paths, entry point globs, schedules. */

const match = (template: string, path: string) =>
  matchRouteTemplate(parseRouteTemplate(template), path.split('/').filter((s) => s !== ''));

describe('route templates', () => {
  it('binds parameters, optional parameters and defaults', () => {
    expect(match('v1/items/{id}', 'v1/items/42')).toEqual({ id: '42' });
    expect(match('v1/items/{id}', 'v1/items')).toBeUndefined();
    expect(match('v1/items/{id?}', 'v1/items')).toEqual({});
    expect(match('v1/items/{page=1}', 'v1/items')).toEqual({ page: '1' });
    expect(match('v1/items/{id}', 'v1/items/42/extra')).toBeUndefined();
  });

  it('decodes segments and matches literals case-insensitively', () => {
    expect(match('Files/{name}', 'files/a%20b')).toEqual({ name: 'a b' });
    expect(match('files/{name}', 'FILES/x')).toEqual({ name: 'x' });
  });

  it('gives the catch-all the rest of the path, or nothing', () => {
    expect(match('docs/{*path}', 'docs/a/b%2Fc/d')).toEqual({ path: 'a/b/c/d' });
    expect(match('docs/{*path}', 'docs')).toEqual({});
    expect(match('{**all}', 'x/y')).toEqual({ all: 'x/y' });
    expect(() => parseRouteTemplate('{*path}/more')).toThrow(/last segment/);
  });

  it('splits complex segments on their literals', () => {
    expect(match('files/{name}.{ext}', 'files/report.final.pdf')).toEqual({ name: 'report', ext: 'final.pdf' });
    expect(match('files/{name}.{ext}', 'files/noext')).toBeUndefined();
  });

  it('checks the built-in constraints', () => {
    expect(match('{id:int}', '12')).toEqual({ id: '12' });
    expect(match('{id:int}', '1.5')).toBeUndefined();
    expect(match('{id:int}', '99999999999')).toBeUndefined();
    expect(match('{id:long}', '99999999999')).toEqual({ id: '99999999999' });
    expect(match('{id:guid}', '3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toBeDefined();
    expect(match('{id:guid}', 'not-a-guid')).toBeUndefined();
    expect(match('{n:int:min(1)}', '0')).toBeUndefined();
    expect(match('{n:range(1,5)}', '5')).toEqual({ n: '5' });
    expect(match('{s:alpha:maxlength(3)}', 'abcd')).toBeUndefined();
    expect(match('{code:regex(^[a-z]{{2}}\\d$)}', 'ab1')).toEqual({ code: 'ab1' });
    expect(match('{code:regex(^[a-z]{{2}}\\d$)}', 'abc')).toBeUndefined();
    expect(match('{b:bool}', 'True')).toEqual({ b: 'True' });
  });
});

describe('route table', () => {
  const table = new HttpRouteTable<string>('api');
  table.add('{*path}', undefined, 'catchAll');
  table.add('v1/items/{id}', ['GET', 'DELETE'], 'param');
  table.add('v1/items/{id:int}', ['GET'], 'constrained');
  table.add('v1/items/new', ['GET'], 'literal');
  table.add('v1/{area}/{id}', ['GET'], 'twoParams');

  it('orders literal < constrained parameter < parameter < catch-all, whatever the registration order', () => {
    expect(table.match('GET', '/api/v1/items/new')?.target).toBe('literal');
    expect(table.match('GET', '/api/v1/items/7')?.target).toBe('constrained');
    expect(table.match('GET', '/api/v1/items/x')?.target).toBe('param');
    expect(table.match('GET', '/api/v1/orders/x')?.target).toBe('twoParams');
    expect(table.match('GET', '/api/anything/else')).toEqual({ target: 'catchAll', params: { path: 'anything/else' } });
  });

  it('skips routes whose methods do not match', () => {
    expect(table.match('DELETE', '/api/v1/items/7')?.target).toBe('param');
    expect(table.match('PATCH', '/api/v1/items/7')?.target).toBe('catchAll');
  });

  it('requires the prefix (case-insensitively) and ignores a trailing slash', () => {
    expect(table.match('GET', '/API/v1/items/new/')?.target).toBe('literal');
    expect(table.match('GET', '/v1/items/new')).toBeUndefined();
    expect(table.match('GET', '/')).toBeUndefined();
  });

  it('serves at the root with an empty prefix', () => {
    const root = new HttpRouteTable<string>('');
    root.add('health', ['GET'], 'health');
    expect(root.match('GET', '/health')?.target).toBe('health');
    expect(root.match('GET', '/api/health')).toBeUndefined();
    expect(root.publicPath('health')).toBe('/health');
    expect(new HttpRouteTable('api/v2').publicPath('/x/{id}')).toBe('/api/v2/x/{id}');
  });
});

describe('blob trigger paths', () => {
  it('captures tokens greedily, across slashes, and derives the listing prefix', () => {
    const pattern = parseBlobPath('sessions/{userId}/{sessionId}/trace.jsonl');
    expect(pattern.container).toBe('sessions');
    expect(pattern.prefix).toBe('');
    expect(pattern.match('u1/s1/trace.jsonl')).toEqual({ userId: 'u1', sessionId: 's1' });
    expect(pattern.match('u1/s1/other.jsonl')).toBeUndefined();

    const named = parseBlobPath('uploads/in-{name}');
    expect(named.prefix).toBe('in-');
    expect(named.match('in-a/b.txt')).toEqual({ name: 'a/b.txt' });
    expect(parseBlobPath('everything').match('any/thing')).toEqual({});
    expect(() => parseBlobPath('{c}/x')).toThrow(/container/);
  });
});

describe('entry point globs', () => {
  const root = mkdtempSync(join(tmpdir(), 'glob-'));
  for (const file of ['dist/functions/a.js', 'dist/functions/b.js', 'dist/functions/b.js.map', 'dist/lib/c.js', 'dist/.hidden/d.js', 'index.js']) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), '');
  }
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('expands *, ** and {a,b} like the worker, skipping dot folders', () => {
    expect(expandGlob(root, 'dist/functions/*.js')).toEqual(['dist/functions/a.js', 'dist/functions/b.js']);
    expect(expandGlob(root, 'dist/**/*.js')).toEqual(['dist/functions/a.js', 'dist/functions/b.js', 'dist/lib/c.js']);
    expect(expandGlob(root, 'dist/{lib,functions}/?.js')).toEqual(['dist/lib/c.js', 'dist/functions/a.js', 'dist/functions/b.js']);
    expect(expandGlob(root, './index.js')).toEqual(['index.js']);
    expect(expandGlob(root, 'missing.js')).toEqual([]);
  });
});

describe('timer schedules', () => {
  it('reads TimeSpans', () => {
    expect(parseTimeSpan('00:00:30')).toBe(30_000);
    expect(parseTimeSpan('1.02:00:00')).toBe(26 * 3_600_000);
    expect(parseTimeSpan('*/5 * * * * *')).toBeUndefined();
  });

  it('computes NCRONTAB occurrences with seconds first, strictly after the given time', () => {
    const everyFive = parseTimerSchedule('*/5 * * * * *', 'UTC');
    expect(everyFive.next(new Date('2024-01-01T00:00:05.000Z')).toISOString()).toBe('2024-01-01T00:00:10.000Z');
    const daily = parseTimerSchedule('0 30 9 * * *', 'UTC');
    expect(daily.next(new Date('2024-01-01T10:00:00Z')).toISOString()).toBe('2024-01-02T09:30:00.000Z');
    const interval = parseTimerSchedule('00:10:00', 'UTC');
    expect(interval.next(new Date('2024-01-01T00:00:00Z')).toISOString()).toBe('2024-01-01T00:10:00.000Z');
    expect(() => parseTimerSchedule('0 0 * *', 'UTC')).toThrow(/NCRONTAB/);
  });
});
