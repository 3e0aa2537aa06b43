import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LOCAL_USER_ID } from '../../shared/seed/localDeveloper.js';
import { callApi } from '../support/http.js';

const databaseUrl = inject('databaseUrl');
let db: pg.Client;

beforeAll(async () => {
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db.end();
});

describe('GET /v1/health', () => {
  it('answers 200 without a key when the database and storage are up', async () => {
    const response = await callApi('/v1/health', { key: null });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: 'ok', checks: { database: 'ok', storage: 'ok' } });
    expect(response.headers.get('x-request-id')).toMatch(/[0-9a-f-]{36}/);
  });
});

describe('GET /v1/users/me', () => {
  it('returns the user who owns the key', async () => {
    const response = await callApi('/v1/users/me');
    expect(response.status).toBe(200);
    const { rows } = await db.query('select id, display_name, email, created_at from users where id = $1', [
      LOCAL_USER_ID,
    ]);
    const user = rows[0] as { id: string; display_name: string; email: string; created_at: Date };
    expect(response.json).toEqual({
      id: user.id,
      display_name: user.display_name,
      email: user.email,
      created_at: user.created_at.toISOString(),
    });
  });

  it.each([
    ['no key', null],
    ['an unknown key', 'tp_live_sk_' + 'A'.repeat(43)],
    ['a malformed key', 'not a key at all'],
    ['an absurdly long key', 'x'.repeat(5000)],
  ])('answers %s with the same 401', async (_name, key) => {
    const response = await callApi('/v1/users/me', { key });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({
      error: { code: 'unauthorized', message: 'A valid API key is required (X-API-Key header).' },
    });
  });

  it('rejects a revoked key on its next use', async () => {
    // A second key of the local user, revoked directly in the table (key management has its own endpoints).
    const { createHmac, randomBytes } = await import('node:crypto');
    const secret = 'tp_live_sk_' + randomBytes(32).toString('base64url');
    const hash = createHmac('sha256', inject('apiKeyHmacSecret')).update(secret).digest('hex');
    const { rows } = await db.query(
      `insert into api_keys (user_id, name, prefix, key_hash) values ($1, 'revocation test', 'tp_live_sk_x...y', $2)
       returning id`,
      [LOCAL_USER_ID, hash],
    );
    expect((await callApi('/v1/users/me', { key: secret })).status).toBe(200);
    await db.query('update api_keys set revoked_at = now() where id = $1', [rows[0].id]);
    expect((await callApi('/v1/users/me', { key: secret })).status).toBe(401);
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/v1/nothing-here'],
    ['POST', '/v1/health'],
    ['DELETE', '/'],
  ])('answers %s %s with a JSON 404', async (method, path) => {
    const response = await callApi(path, { method, key: null });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.json).toEqual({ error: { code: 'not_found', message: `No route for ${method} ${path}.` } });
  });
});

describe('OpenAPI document and docs', () => {
  it('documents the registered operations with their error responses', async () => {
    const response = await callApi('/v1/openapi.json', { key: null });
    expect(response.status).toBe(200);
    const document = response.json as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    };
    expect(document.openapi).toBe('3.1.0');
    expect(document.paths['/v1/health']?.get?.operationId).toBe('getHealth');
    expect(Object.keys(document.paths['/v1/users/me']?.get?.responses ?? {}).sort()).toEqual(['200', '401', '403', '429', '503']);
    expect(document.components.securitySchemes.ApiKey).toEqual(expect.objectContaining({ in: 'header', name: 'X-API-Key' }));
    expect(document.components.schemas.Error).toBeDefined();
  });

  it('serves the interactive reference and its assets from the package', async () => {
    const page = await callApi('/v1/docs', { key: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain('/v1/openapi.json');
    const script = await callApi('/v1/docs/assets/swagger-ui-bundle.js', { key: null });
    expect(script.status).toBe(200);
    expect(Number(script.headers.get('content-length'))).toBe(Buffer.byteLength(script.text));
    expect(script.text).toContain('SwaggerUIBundle');
    const traversal = await callApi('/v1/docs/assets/..%2Fpackage.json', { key: null });
    expect(traversal.status).toBe(404);
  });
});
