import { parseRouteConstraint, type RouteConstraint } from './httpRouteConstraints.js';

/**
 * HTTP trigger routes, matched the way the Functions host does it with ASP.NET Core route templates
 * (https://learn.microsoft.com/aspnet/core/fundamentals/routing#route-templates):
 * - `{id}` parameters, `{id?}` optional, `{id=default}` defaults, `{*rest}`/`{**rest}` catch-all, complex segments
 *   like `{name}.{ext}`, constraints (`{id:int}`, `{id:guid}`, `{n:min(1)}`, `{s:regex(^a)}` ...) checked;
 * - literals compare case-insensitively;
 * - routes are tried in ASP.NET's inbound precedence order, per segment: literal (1) < complex segment (2) <
 *   constrained parameter (3) < parameter (4) < catch-all (5), then by template text. So `v1/items/new` beats
 *   `v1/items/{id}`, which beats `{*path}`, whatever the registration order;
 * - a route whose template matches but whose methods do not is skipped, so the request may fall through to a
 *   catch-all or to 404, as a method constraint does in ASP.NET;
 * - host.json `extensions.http.routePrefix` (default `api`, `''` allowed) comes before every route.
 */

type RoutePart =
  | { kind: 'literal'; text: string }
  | {
      kind: 'parameter';
      name: string;
      optional: boolean;
      catchAll: boolean;
      defaultValue: string | undefined;
      constraints: RouteConstraint[];
    };

interface RouteSegment {
  parts: RoutePart[];
}

export interface RouteTemplate {
  template: string;
  segments: RouteSegment[];
  precedence: number[];
}

export type RouteParams = Record<string, string>;

export function parseRouteTemplate(template: string): RouteTemplate {
  const trimmed = template.replace(/^~?\/+/, '').replace(/\/+$/, '');
  const segments = trimmed === '' ? [] : trimmed.split('/').map((text) => parseSegment(text, template));
  segments.forEach((segment, i) => {
    for (const part of segment.parts) {
      if (part.kind === 'parameter' && part.catchAll && i !== segments.length - 1) {
        throw new Error(`Route "${template}": a catch-all parameter must be the last segment.`);
      }
    }
  });
  return { template: trimmed, segments, precedence: segments.map(segmentPrecedence) };
}

function parseSegment(text: string, template: string): RouteSegment {
  if (text === '') throw new Error(`Route "${template}" has an empty segment.`);
  const parts: RoutePart[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' && text[i + 1] === '{') {
      literal += '{';
      i++;
    } else if (c === '}' && text[i + 1] === '}') {
      literal += '}';
      i++;
    } else if (c === '{') {
      const close = findParameterEnd(text, i + 1);
      if (close < 0) throw new Error(`Route "${template}": unclosed "{".`);
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
      parts.push(parseParameter(text.slice(i + 1, close), template));
      i = close;
    } else if (c === '}') {
      throw new Error(`Route "${template}": unmatched "}".`);
    } else {
      literal += c;
    }
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  const params = parts.filter((p) => p.kind === 'parameter');
  if (parts.length > 1 && params.some((p) => p.kind === 'parameter' && p.catchAll)) {
    throw new Error(`Route "${template}": a catch-all parameter must be a whole segment.`);
  }
  return { parts };
}

/** The closing brace of a parameter, skipping braces inside constraint arguments such as `regex(^\d{3}$)`. */
function findParameterEnd(text: string, from: number): number {
  let parens = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '(') parens++;
    else if (c === ')') parens = Math.max(0, parens - 1);
    else if (c === '}' && parens === 0) {
      if (text[i + 1] === '}') {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

function splitTopLevel(text: string, separator: string): string[] {
  const out: string[] = [];
  let parens = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') parens++;
    else if (c === ')') parens = Math.max(0, parens - 1);
    else if (c === separator && parens === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function parseParameter(body: string, template: string): RoutePart {
  let rest = body.replace(/{{/g, '{').replace(/}}/g, '}');
  let catchAll = false;
  if (rest.startsWith('**')) {
    catchAll = true;
    rest = rest.slice(2);
  } else if (rest.startsWith('*')) {
    catchAll = true;
    rest = rest.slice(1);
  }
  let defaultValue: string | undefined;
  const [beforeDefault, ...defaultParts] = splitTopLevel(rest, '=');
  rest = beforeDefault ?? '';
  if (defaultParts.length > 0) defaultValue = defaultParts.join('=');
  let optional = false;
  if (rest.endsWith('?')) {
    optional = true;
    rest = rest.slice(0, -1);
  }
  const [name, ...constraintTexts] = splitTopLevel(rest, ':');
  if (!name || !/^[A-Za-z_][\w-]*$/.test(name)) throw new Error(`Route "${template}": bad parameter "{${body}}".`);
  return {
    kind: 'parameter',
    name,
    optional: optional || catchAll,
    catchAll,
    defaultValue,
    constraints: constraintTexts.filter((t) => t !== '').map(parseRouteConstraint),
  };
}

function segmentPrecedence(segment: RouteSegment): number {
  const [only] = segment.parts;
  if (segment.parts.length > 1 || !only) return 2;
  if (only.kind === 'literal') return 1;
  if (only.catchAll) return 5;
  return only.constraints.length > 0 ? 3 : 4;
}

function comparePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const n = Math.min(a.precedence.length, b.precedence.length);
  for (let i = 0; i < n; i++) {
    const diff = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (diff !== 0) return diff;
  }
  if (a.precedence.length !== b.precedence.length) return a.precedence.length - b.precedence.length;
  const x = a.template.toLowerCase();
  const y = b.template.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function acceptParameter(part: Extract<RoutePart, { kind: 'parameter' }>, value: string, params: RouteParams): boolean {
  if (!part.constraints.every((c) => c.test(value))) return false;
  params[part.name] = value;
  return true;
}

/** Matches raw (still percent-encoded) path segments against a template; answers the route values or undefined. */
export function matchRouteTemplate(route: RouteTemplate, rawSegments: string[]): RouteParams | undefined {
  const params: RouteParams = {};
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i] as RouteSegment;
    const [first] = segment.parts;
    if (!first) return undefined;
    const raw = rawSegments[i];

    if (first.kind === 'parameter' && first.catchAll) {
      const rest = rawSegments.slice(i).map(decodeSegment).join('/');
      if (rest === '') {
        if (first.defaultValue !== undefined) params[first.name] = first.defaultValue;
        return params;
      }
      return acceptParameter(first, rest, params) ? params : undefined;
    }

    if (raw === undefined) {
      // Past the end of the request path: the rest of the template must be optional.
      for (const later of route.segments.slice(i)) {
        const [p] = later.parts;
        if (later.parts.length !== 1 || !p || p.kind !== 'parameter' || (!p.optional && p.defaultValue === undefined)) {
          return undefined;
        }
        if (p.defaultValue !== undefined) params[p.name] = p.defaultValue;
      }
      return params;
    }

    const value = decodeSegment(raw);
    if (segment.parts.length === 1) {
      if (first.kind === 'literal') {
        if (first.text.toLowerCase() !== value.toLowerCase()) return undefined;
      } else if (value === '' || !acceptParameter(first, value, params)) {
        return undefined;
      }
      continue;
    }

    // Complex segment, e.g. `{name}.{ext}`: literals anchor, parameters take what lies between them.
    const pattern = segment.parts
      .map((p) => (p.kind === 'literal' ? escapeRegex(p.text) : p.optional ? '(.*?)' : '(.+?)'))
      .join('');
    const match = new RegExp(`^${pattern}$`, 'is').exec(value);
    if (!match) return undefined;
    let group = 1;
    for (const p of segment.parts) {
      if (p.kind !== 'parameter') continue;
      const captured = match[group++] ?? '';
      if (captured === '' && p.optional) continue;
      if (!acceptParameter(p, captured, params)) return undefined;
    }
  }
  return rawSegments.length > route.segments.length ? undefined : params;
}

export interface RouteMatch<T> {
  target: T;
  params: RouteParams;
}

interface RouteEntry<T> {
  route: RouteTemplate;
  methods: Set<string> | undefined;
  target: T;
}

export class HttpRouteTable<T> {
  readonly #prefix: string[];
  #entries: Array<RouteEntry<T>> = [];

  constructor(routePrefix: string) {
    this.#prefix = routePrefix.split('/').filter((s) => s !== '');
  }

  /** The public path of a route, e.g. `/api/v1/items/{id}`. */
  publicPath(template: string): string {
    return `/${[...this.#prefix, parseRouteTemplate(template).template].filter((s) => s !== '').join('/')}`;
  }

  add(template: string, methods: string[] | undefined, target: T): void {
    const entry: RouteEntry<T> = {
      route: parseRouteTemplate(template),
      methods: methods && methods.length > 0 ? new Set(methods.map((m) => m.toUpperCase())) : undefined,
      target,
    };
    this.#entries.push(entry);
    this.#entries.sort((a, b) => comparePrecedence(a.route, b.route));
  }

  /** `pathname` is the request's raw path (no query string). */
  match(method: string, pathname: string): RouteMatch<T> | undefined {
    const segments = pathname.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
    for (let i = 0; i < this.#prefix.length; i++) {
      if (decodeSegment(segments[i] ?? '').toLowerCase() !== (this.#prefix[i] as string).toLowerCase()) return undefined;
    }
    const rest = segments.slice(this.#prefix.length);
    const upperMethod = method.toUpperCase();
    for (const entry of this.#entries) {
      if (entry.methods && !entry.methods.has(upperMethod)) continue;
      const params = matchRouteTemplate(entry.route, rest);
      if (params) return { target: entry.target, params };
    }
    return undefined;
  }
}
