/**
 * The generated document, adjusted where client generators read it differently from the JSON Schema it is:
 *
 * - A registered schema used with a description of its own comes out of zod-to-openapi as
 *   `allOf: [{ $ref }, { description }]`. openapi-python-client refuses that for enums ("Cannot take allOf a
 *   non-object") and drops every operation and model that uses it. A reference stands alone here; its description
 *   goes to the parent that can carry it: the parameter, or the object whose property it is.
 * - openapi-typescript makes a property with a `default` non-optional in every component (it reads defaults as
 *   "always present", true of responses), so a request field the server fills in became mandatory for clients. In
 *   schemas only requests use, the default is said in the description instead, and the field stays optional.
 *
 * Both walks are over the generated document (ours, not client input), in place, on a copy.
 */

type Json = Record<string, unknown>;
type Document = Json & { paths?: Json; components?: Json & { schemas?: Record<string, Json> } };

const ANNOTATIONS = new Set(['description', 'example', 'examples', 'title', 'deprecated']);
const COMPONENT_PREFIX = '#/components/schemas/';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ allOf: [{ $ref }, annotations] }` -> the reference and the annotations' description, or null. */
function describedReference(schema: unknown): { ref: Json; description?: string } | null {
  if (!isObject(schema) || !Array.isArray(schema.allOf) || schema.allOf.length !== 2) return null;
  if (Object.keys(schema).length !== 1) return null;
  const [ref, extra] = schema.allOf as unknown[];
  if (!isObject(ref) || typeof ref.$ref !== 'string' || Object.keys(ref).length !== 1) return null;
  if (!isObject(extra) || !Object.keys(extra).every((key) => ANNOTATIONS.has(key))) return null;
  return { ref, ...(typeof extra.description === 'string' ? { description: extra.description } : {}) };
}

function componentDescription(document: Document, ref: Json): string | undefined {
  const name = String(ref.$ref).slice(COMPONENT_PREFIX.length);
  const description = document.components?.schemas?.[name]?.description;
  return typeof description === 'string' ? description : undefined;
}

function* objectsIn(root: unknown): Generator<Json> {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) stack.push(...value);
    else if (isObject(value)) {
      yield value;
      stack.push(...Object.values(value));
    }
  }
}

function standAloneReferences(document: Document): void {
  for (const node of objectsIn(document)) {
    // A parameter (`in` + `schema`): the parameter carries the description.
    if (typeof node.in === 'string' && 'schema' in node) {
      const found = describedReference(node.schema);
      if (found) {
        node.schema = found.ref;
        if (found.description && typeof node.description !== 'string') node.description = found.description;
      }
    }
    if (isObject(node.properties)) {
      for (const [name, property] of Object.entries(node.properties)) {
        const found = describedReference(property);
        if (!found) continue;
        node.properties[name] = found.ref;
        if (found.description && found.description !== componentDescription(document, found.ref)) {
          const line = `\`${name}\`: ${found.description}`;
          node.description = typeof node.description === 'string' ? `${node.description}\n\n${line}` : line;
        }
      }
    }
    for (const key of ['items', 'additionalProperties'] as const) {
      const found = describedReference(node[key]);
      if (found) node[key] = found.ref;
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const list = node[key];
      if (Array.isArray(list)) node[key] = list.map((member) => describedReference(member)?.ref ?? member);
    }
  }
}

/** Names of the components a part of the document refers to, directly or through other components. */
function reachableComponents(document: Document, roots: unknown[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...roots];
  while (pending.length > 0) {
    for (const node of objectsIn(pending.pop())) {
      if (typeof node.$ref !== 'string' || !node.$ref.startsWith(COMPONENT_PREFIX)) continue;
      const name = node.$ref.slice(COMPONENT_PREFIX.length);
      if (seen.has(name)) continue;
      seen.add(name);
      pending.push(document.components?.schemas?.[name]);
    }
  }
  return seen;
}

function requestOnlyDefaults(document: Document): void {
  const operations = Object.values(document.paths ?? {}).flatMap((item) => (isObject(item) ? Object.values(item) : []));
  const requests = operations.filter(isObject).map((operation) => operation.requestBody);
  const responses = operations.filter(isObject).map((operation) => operation.responses);
  const answered = reachableComponents(document, responses);
  for (const name of reachableComponents(document, requests)) {
    if (answered.has(name)) continue;
    for (const node of objectsIn(document.components?.schemas?.[name])) {
      if (!isObject(node.properties)) continue;
      for (const property of Object.values(node.properties)) {
        if (!isObject(property) || !('default' in property)) continue;
        const said = `Defaults to \`${JSON.stringify(property.default)}\`.`;
        property.description = typeof property.description === 'string' ? `${property.description} ${said}` : said;
        delete property.default;
      }
    }
  }
}

export function forGenerators<D extends object>(generated: D): D {
  const document = structuredClone(generated) as unknown as Document;
  standAloneReferences(document);
  requestOnlyDefaults(document);
  return document as unknown as D;
}
