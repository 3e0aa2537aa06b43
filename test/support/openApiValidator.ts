import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Checks every response the integration tests receive against the OpenAPI document the API serves: the
 * operation must document the status, and a JSON body must match its schema. A drift between code and document
 * fails the test that saw it.
 */
interface OperationDoc {
  responses?: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema?: unknown }> }>;
}

/** Headers a client acts on: a response that carries one must document it. */
const DOCUMENTED_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after', 'www-authenticate'];
type OpenApiDocument = { paths: Record<string, Record<string, OperationDoc>> };

interface Validator {
  check(method: string, url: string, status: number, contentType: string | null, body: unknown, headers?: Headers): void;
}

function templateToRegExp(template: string): RegExp {
  const pattern = template
    .split('/')
    .map((segment) => (/^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}$`);
}

function pointerEscape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function createOpenApiValidator(document: OpenApiDocument): Validator {
  // OpenAPI 3.1 schemas are JSON Schema 2020-12; `example` and vendor keywords are annotations, not errors.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
  ajv.addSchema(document as object, 'openapi.json');
  // Literal paths first, so /v1/users/me is not taken for /v1/users/{id}.
  const routes = Object.keys(document.paths)
    .map((template) => ({ template, regex: templateToRegExp(template), params: (template.match(/\{/g) ?? []).length }))
    .sort((a, b) => a.params - b.params);
  const compiled = new Map<string, ValidateFunction>();

  return {
    check(method, url, status, contentType, body, headers) {
      const path = new URL(url).pathname;
      const route = routes.find((candidate) => candidate.regex.test(path));
      if (!route) return; // undocumented paths are the catch-all 404 and the host's admin API
      const operation = document.paths[route.template]?.[method.toLowerCase()];
      if (!operation) return; // a method the path does not have: the catch-all 404 answers it
      const response = operation.responses?.[String(status)];
      if (!response) {
        throw new Error(`${method} ${route.template} answered ${status}, which its OpenAPI operation does not document`);
      }
      const declared = new Set(Object.keys(response.headers ?? {}).map((name) => name.toLowerCase()));
      for (const name of DOCUMENTED_HEADERS) {
        if (headers?.has(name) && !declared.has(name)) {
          throw new Error(`${method} ${route.template} ${status} sent the header ${name}, which its document does not declare`);
        }
      }
      const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
      if (!mediaType || !(mediaType === 'application/json' || mediaType.endsWith('+json')) || body === undefined) return;
      const documented = response.content?.['application/json'] ?? response.content?.[mediaType];
      if (!documented?.schema) {
        throw new Error(`${method} ${route.template} ${status} returned JSON its document does not describe`);
      }
      const pointer = ['paths', route.template, method.toLowerCase(), 'responses', String(status), 'content']
        .concat(response.content?.['application/json'] ? 'application/json' : (mediaType as string), 'schema')
        .map(pointerEscape)
        .join('/');
      let validate = compiled.get(pointer);
      if (!validate) {
        validate = ajv.compile({ $ref: `openapi.json#/${pointer}` });
        compiled.set(pointer, validate);
      }
      if (!validate(body)) {
        throw new Error(
          `${method} ${path} ${status}: the body does not match the documented schema: ` +
            `${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`,
        );
      }
    },
  };
}

let validatorPromise: Promise<Validator> | undefined;

/** The validator for the API under test, built from its own /v1/openapi.json once per test worker. */
export function openApiValidatorFor(apiUrl: string): Promise<Validator> {
  validatorPromise ??= fetch(`${apiUrl}/v1/openapi.json`).then(async (response) =>
    createOpenApiValidator((await response.json()) as OpenApiDocument),
  );
  return validatorPromise;
}
