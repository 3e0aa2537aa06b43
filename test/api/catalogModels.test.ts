import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SEED_MODEL_IDS } from '../../shared/seed/catalog.js';
import { readerKey, uniqueName, useCatalogDatabase, writerKey } from '../support/catalog.js';
import { callApi } from '../support/http.js';
import { createTestUser } from '../support/users.js';

const { db } = useCatalogDatabase();

interface Model {
  id: string;
  provider: string;
  name: string;
  display_name: string | null;
  usage_name: string;
  created_at: string;
}

const uniqueModelName = () => uniqueName('Model');

describe('models', () => {
  it('registers a model and reads it back with its usage name', async () => {
    const key = await writerKey();
    const name = uniqueModelName();
    const created = await callApi('/v1/models', {
      method: 'POST',
      key,
      body: { provider: 'CUSTOM', name, display_name: 'My fine-tune' },
    });
    expect(created.status, created.text).toBe(201);
    const model = created.json as Model;
    expect(created.headers.get('location')).toBe(`/v1/models/${model.id}`);
    expect(model).toEqual({
      id: expect.any(String),
      provider: 'CUSTOM',
      name,
      display_name: 'My fine-tune',
      usage_name: `custom/${name.toLowerCase()}`,
      created_at: expect.stringMatching(/Z$/),
    });
    expect((await callApi(`/v1/models/${model.id}`, { key })).json).toEqual(model);
    const { rows } = await db.query('select provider, name from models where id = $1', [model.id]);
    expect(rows).toEqual([{ provider: 'CUSTOM', name }]);
  });

  it('reads a seeded model as openai/gpt-4o', async () => {
    const response = await callApi(`/v1/models/${SEED_MODEL_IDS['openai/gpt-4o']}`, { key: await readerKey() });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ provider: 'OPENAI', name: 'gpt-4o', usage_name: 'openai/gpt-4o' });
  });

  it('keeps provider and name unique, the name case-insensitively (409)', async () => {
    const key = await writerKey();
    const name = uniqueModelName();
    expect((await callApi('/v1/models', { method: 'POST', key, body: { provider: 'CUSTOM', name } })).status).toBe(201);
    const duplicate = await callApi('/v1/models', {
      method: 'POST',
      key,
      body: { provider: 'CUSTOM', name: name.toUpperCase() },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toMatchObject({ error: { code: 'conflict', details: { provider: 'CUSTOM' } } });
    const otherProvider = await callApi('/v1/models', { method: 'POST', key, body: { provider: 'VERTEXAI', name } });
    expect(otherProvider.status).toBe(201);
    const { rows } = await db.query('select count(*)::int as n from models where lower(name) = lower($1)', [name]);
    expect(rows[0].n).toBe(2);
  });

  it('lists models newest first, filtered by provider', async () => {
    const key = await writerKey();
    const create = async () =>
      (await callApi('/v1/models', { method: 'POST', key, body: { provider: 'CUSTOM', name: uniqueModelName() } }))
        .json as Model;
    const first = await create();
    const second = await create();
    const custom = await callApi('/v1/models?provider=CUSTOM&per_page=100', { key });
    expect(custom.status).toBe(200);
    const page = custom.json as { items: Model[]; total: number; page: number; per_page: number };
    expect(page.items.every((model) => model.provider === 'CUSTOM')).toBe(true);
    const ids = page.items.map((model) => model.id);
    expect(ids).toContain(first.id);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
    const openai = await callApi('/v1/models?provider=OPENAI&per_page=100', { key });
    const openaiPage = openai.json as { items: Model[]; total: number };
    expect(openaiPage.items.map((model) => model.usage_name)).toEqual(
      expect.arrayContaining(['openai/gpt-4o', 'openai/gpt-4o-mini']),
    );
    expect(openaiPage.items.map((model) => model.id)).not.toContain(first.id);
    expect(openaiPage.total).toBe(openaiPage.items.length);
    expect((await callApi('/v1/models?provider=openai', { key })).status).toBe(422);
  });

  it('refuses a missing field with 400 and invalid values with 422', async () => {
    const key = await writerKey();
    expect((await callApi('/v1/models', { method: 'POST', key, body: { provider: 'CUSTOM' } })).status).toBe(400);
    for (const body of [
      { provider: 'MISTRAL', name: 'x' },
      { provider: 'CUSTOM', name: 'has space' },
      { provider: 'CUSTOM', name: 'x'.repeat(101) },
    ]) {
      expect((await callApi('/v1/models', { method: 'POST', key, body })).status, JSON.stringify(body)).toBe(422);
    }
  });

  it('answers 404 for an unknown model and 422 for a malformed id', async () => {
    const key = await readerKey();
    expect((await callApi(`/v1/models/${randomUUID()}`, { key })).status).toBe(404);
    expect((await callApi('/v1/models/gpt-4o', { key })).status).toBe(422);
  });

  it('lets a key with only the api scope read models but not register one (403)', async () => {
    const reader = await createTestUser({ scopes: ['api'] });
    expect((await callApi('/v1/models', { key: reader.key })).status).toBe(200);
    const name = uniqueModelName();
    const body = { provider: 'CUSTOM', name };
    const response = await callApi('/v1/models', { method: 'POST', key: reader.key, body });
    expect(response.status).toBe(403);
    const { rows } = await db.query('select count(*)::int as n from models where name = $1', [name]);
    expect(rows[0].n).toBe(0);
  });
});

describe('catalog in the OpenAPI document', () => {
  it('documents every catalog operation with its tag, scope errors and limits', async () => {
    type Operation = { operationId: string; tags: string[]; responses: Record<string, unknown> };
    const response = await callApi('/v1/openapi.json', { key: null });
    const document = response.json as {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, { properties?: Record<string, { maxItems?: number }> }> };
    };
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    const byId = new Map(operations.map((operation) => [operation.operationId, operation]));
    for (const operationId of [
      'listSuites', 'createSuite', 'getSuite', 'updateSuite', 'deleteSuite',
      'listSuiteActions', 'createSuiteAction', 'getSuiteAction', 'updateSuiteAction', 'deleteSuiteAction',
      'listMcpServers', 'createMcpServer', 'getMcpServer', 'updateMcpServer', 'deleteMcpServer',
      'listMcpServerTools', 'createMcpServerTool', 'getMcpServerTool', 'updateMcpServerTool', 'deleteMcpServerTool',
      'listActionToolMaps', 'createActionToolMap', 'getActionToolMap', 'deleteActionToolMap',
      'listModels', 'createModel', 'getModel',
    ]) {
      expect(byId.get(operationId), operationId).toBeDefined();
    }
    expect(Object.keys(byId.get('deleteSuite')!.responses)).toEqual(
      expect.arrayContaining(['204', '401', '403', '404', '409', '422', '503']),
    );
    expect(byId.get('createActionToolMap')!.tags).toEqual(['Action-tool maps']);
    expect(document.components.schemas.CreateActionRequest?.properties?.parameters?.maxItems).toBe(50);
    expect(document.components.schemas.McpToolList).toBeDefined();
  });
});
