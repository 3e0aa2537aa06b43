import { describe, expect, inject, it } from 'vitest';
import { createOpenApiValidator } from '../support/openApiValidator.js';

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  requestBody?: unknown;
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema?: unknown }> }>;
}
type Document = {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
};

interface HostFunction {
  name: string;
  config: { bindings: Array<{ type: string; route?: string; methods?: string[] }> };
}

async function fetchJson<T>(path: string): Promise<T> {
  const response = await fetch(`${inject('apiUrl')}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

/** Every HTTP function the host registered, as (METHOD path) -> function name; the catch-all 404 aside. */
async function registeredOperations(): Promise<Map<string, string>> {
  const functions = await fetchJson<HostFunction[]>('/admin/functions');
  const operations = new Map<string, string>();
  for (const fn of functions) {
    const trigger = fn.config.bindings.find((binding) => binding.type === 'httpTrigger');
    if (!trigger?.route || trigger.route.startsWith('{*')) continue;
    for (const method of trigger.methods ?? []) operations.set(`${method.toUpperCase()} /${trigger.route}`, fn.name);
  }
  return operations;
}

function documentedOperations(document: Document): Map<string, Operation> {
  const operations = new Map<string, Operation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) operations.set(`${method.toUpperCase()} ${path}`, operation);
  }
  return operations;
}

describe('the OpenAPI document and the registered functions', () => {
  it('documents every HTTP function with its method and path, and documents nothing that does not exist', async () => {
    const registered = await registeredOperations();
    const documented = documentedOperations(await fetchJson<Document>('/v1/openapi.json'));
    expect(registered.size).toBeGreaterThan(5);
    expect([...documented.keys()].sort()).toEqual([...registered.keys()].sort());
    for (const [key, name] of registered) expect(documented.get(key)?.operationId, key).toBe(name);
  });

  it('gives every operation an id, summary, description, tags, security and its error responses', async () => {
    const document = await fetchJson<Document>('/v1/openapi.json');
    for (const [key, operation] of documentedOperations(document)) {
      expect(operation.operationId, key).toMatch(/^[a-zA-Z]+$/);
      expect(operation.summary?.length, key).toBeGreaterThan(5);
      expect(operation.description?.length, key).toBeGreaterThan(20);
      expect(operation.tags?.length, key).toBeGreaterThan(0);
      expect(operation.security, key).toBeDefined();
      expect(operation.responses['503'], key).toBeDefined();
      if ((operation.security ?? []).length > 0) {
        expect(operation.responses['401'], key).toBeDefined();
        const errorSchema = operation.responses['401']?.content?.['application/json']?.schema;
        expect(errorSchema, key).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
  });
});

describe('what the document says of limits and headers', () => {
  it('documents 413 in the error shape wherever a body is read', async () => {
    const document = await fetchJson<Document>('/v1/openapi.json');
    const reading = [...documentedOperations(document)].filter(([, operation]) => operation.requestBody);
    expect(reading.length).toBeGreaterThan(10);
    for (const [key, operation] of reading) {
      const tooLarge = operation.responses['413'];
      expect(tooLarge?.content?.['application/json']?.schema, key).toEqual({ $ref: '#/components/schemas/Error' });
    }
  });

  it('documents the rate-limit headers on every response of a keyed operation, Retry-After with 429 and 503', async () => {
    const document = await fetchJson<Document & { components: { headers: Record<string, unknown> } }>('/v1/openapi.json');
    const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });
    for (const name of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'WWW-Authenticate']) {
      expect(document.components.headers[name], name).toBeDefined();
    }
    for (const [key, operation] of documentedOperations(document)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const where = `${key} ${status}`;
        expect(response.headers?.['X-Request-Id'], where).toEqual(ref('X-Request-Id'));
        if ((operation.security ?? []).some((requirement) => 'ApiKey' in requirement) && status !== '401') {
          for (const name of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']) {
            expect(response.headers?.[name], `${where} ${name}`).toEqual(ref(name));
          }
        }
        if (status === '429' || status === '503') expect(response.headers?.['Retry-After'], where).toEqual(ref('Retry-After'));
        if (status === '401') expect(response.headers?.['WWW-Authenticate'], where).toEqual(ref('WWW-Authenticate'));
      }
    }
  });

  it('documents the docs assets with the media types they are served with', async () => {
    const document = await fetchJson<Document>('/v1/openapi.json');
    const documented = Object.keys(document.paths['/v1/docs/assets/{file}']?.get?.responses['200']?.content ?? {});
    expect(documented).not.toContain('application/octet-stream');
    for (const file of ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png']) {
      const response = await fetch(`${inject('apiUrl')}/v1/docs/assets/${file}`);
      expect(response.status, file).toBe(200);
      const mediaType = response.headers.get('content-type')?.split(';')[0];
      expect(documented, file).toContain(mediaType);
      await response.arrayBuffer();
    }
  });
});

describe('the response validator the integration tests run', () => {
  const document = {
    paths: {
      '/v1/things/{id}': {
        get: {
          responses: {
            '200': {
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['id', 'created_at'],
                    properties: { id: { type: 'string', format: 'uuid' }, created_at: { type: 'string', format: 'date-time' } },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
  const validator = createOpenApiValidator(document);
  const url = 'http://api.test/v1/things/6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

  it('accepts a body that matches its schema', () => {
    expect(() =>
      validator.check('GET', url, 200, 'application/json', {
        id: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
        created_at: '2026-02-19T10:30:00.000Z',
      }),
    ).not.toThrow();
  });

  it('fails a body that does not match, naming the field', () => {
    expect(() => validator.check('GET', url, 200, 'application/json', { id: 'nope' })).toThrow(/created_at|uuid/);
  });

  it('fails a status the operation does not document', () => {
    expect(() => validator.check('GET', url, 418, 'application/json', {})).toThrow(/does not document/);
  });
});
