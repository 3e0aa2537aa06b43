import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import {
  createSuite,
  readerKey,
  uniqueName,
  useCatalogDatabase,
  writerKey,
  type Action,
  type ErrorBody,
  type Page,
  type Suite,
} from '../support/catalog.js';
import { callApi } from '../support/http.js';
import { createTestUser } from '../support/users.js';

/*
 * Suites and their actions through HTTP. The catalog is shared by every test file running in parallel, so each
 * test creates suites of its own with unique names and only ever counts what it created.
 */

const { db, countRows } = useCatalogDatabase();

async function insertSession(userId: string, suiteId: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into sessions (user_id, suite_id, storage_path) values ($1, $2, 'sessions/test/') returning id`,
    [userId, suiteId],
  );
  return rows[0]!.id;
}

describe('suites', () => {
  it('creates a suite with its actions and typed parameters, and reads it back', async () => {
    const key = await writerKey();
    const name = uniqueName('Mail');
    const created = await callApi('/v1/suites', {
      method: 'POST',
      key,
      body: {
        name: `  ${name}  `,
        description: 'Mail in the browser.',
        actions: [
          {
            name: 'compose_email',
            description: 'Write an email.',
            parameters: [
              { name: 'to', type: 'STRING', required: true, description: 'Recipient.' },
              { name: 'cc', type: 'ARRAY' },
            ],
          },
          { name: 'archive_email' },
        ],
      },
    });
    expect(created.status, created.text).toBe(201);
    const suite = created.json as Suite;
    expect(created.headers.get('location')).toBe(`/v1/suites/${suite.id}`);
    expect(suite).toMatchObject({ name, description: 'Mail in the browser.' });
    expect(suite.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(suite.actions.map((action) => action.name)).toEqual(['archive_email', 'compose_email']);
    const compose = suite.actions[1]!;
    expect(compose.suite_id).toBe(suite.id);
    expect(compose.parameters).toEqual([
      { id: expect.any(String), name: 'to', type: 'STRING', required: true, description: 'Recipient.' },
      { id: expect.any(String), name: 'cc', type: 'ARRAY', required: false, description: null },
    ]);

    const read = await callApi(`/v1/suites/${suite.id}`, { key });
    expect(read.status).toBe(200);
    expect(read.json).toEqual(suite);

    const { rows } = await db.query(
      'select name, type, required, position from action_parameters where action_id = $1',
      [compose.id],
    );
    expect(rows.sort((a, b) => a.position - b.position)).toEqual([
      { name: 'to', type: 'STRING', required: true, position: 0 },
      { name: 'cc', type: 'ARRAY', required: false, position: 1 },
    ]);
  });

  it('reads a seeded suite with its actions', async () => {
    const response = await callApi(`/v1/suites/${GMAIL_SUITE_ID}`, { key: await readerKey() });
    expect(response.status).toBe(200);
    const suite = response.json as Suite;
    expect(suite.name).toBe('Gmail');
    expect(suite.actions.find((action) => action.name === 'compose_email')?.parameters.map((p) => p.name)).toEqual([
      'to',
      'subject',
      'body',
      'cc',
    ]);
  });

  it('renames a suite and clears its description', async () => {
    const key = await writerKey();
    const suite = await createSuite(key, { description: 'old' });
    const newName = uniqueName('Renamed');
    const response = await callApi(`/v1/suites/${suite.id}`, {
      method: 'PATCH',
      key,
      body: { name: newName, description: null },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toMatchObject({ id: suite.id, name: newName, description: null, actions: [] });
    expect((response.json as Suite).updated_at >= suite.updated_at).toBe(true);
    const { rows } = await db.query('select name, description from suites where id = $1', [suite.id]);
    expect(rows[0]).toEqual({ name: newName, description: null });
  });

  it('refuses a PATCH that changes nothing with 422', async () => {
    const key = await writerKey();
    const suite = await createSuite(key);
    const response = await callApi(`/v1/suites/${suite.id}`, { method: 'PATCH', key, body: {} });
    expect(response.status).toBe(422);
  });

  it('deletes a suite with its actions and parameters', async () => {
    const key = await writerKey();
    const suite = await createSuite(key, { actions: [{ name: 'a', parameters: [{ name: 'p', type: 'NUMBER' }] }] });
    const response = await callApi(`/v1/suites/${suite.id}`, { method: 'DELETE', key });
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect((await callApi(`/v1/suites/${suite.id}`, { key })).status).toBe(404);
    expect(await countRows('select 1 from actions where suite_id = $1', [suite.id])).toBe(0);
    expect(await countRows('select 1 from action_parameters where action_id = $1', [suite.actions[0]!.id])).toBe(0);
  });

  it('answers 404 for a suite that does not exist, on every method', async () => {
    const key = await writerKey();
    const id = randomUUID();
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { name: uniqueName('x') }],
      ['DELETE', undefined],
    ] as const) {
      const response = await callApi(`/v1/suites/${id}`, { method, key, body });
      expect(response.status, `${method}: ${response.text}`).toBe(404);
      expect((response.json as ErrorBody).error.code).toBe('not_found');
    }
  });

  it('answers 422 naming the field for a malformed id', async () => {
    const key = await readerKey();
    const response = await callApi('/v1/suites/not-a-uuid', { key });
    expect(response.status).toBe(422);
    expect((response.json as ErrorBody).error.details).toEqual({
      fields: [{ location: 'path', field: 'id', message: expect.any(String) }],
    });
    const nested = await callApi('/v1/suites/not-a-uuid/actions/also-not', { key });
    expect(nested.status).toBe(422);
    const fields = (nested.json as ErrorBody).error.details?.fields as Array<{ field: string }>;
    expect(fields.map((field) => field.field).sort()).toEqual(['id', 'suite_id']);
  });

  it('answers 400 for a missing name and 422 for limits broken', async () => {
    const key = await writerKey();
    expect((await callApi('/v1/suites', { method: 'POST', key, body: { description: 'x' } })).status).toBe(400);
    for (const body of [
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { name: uniqueName('S'), description: 'd'.repeat(2001) },
      { name: uniqueName('S'), actions: [{ name: 'has space' }] },
      { name: uniqueName('S'), actions: [{ name: 'a', parameters: [{ name: 'p', type: 'DATE' }] }] },
      {
        name: uniqueName('S'),
        actions: [{ name: 'a', parameters: Array.from({ length: 51 }, (_, i) => ({ name: `p${i}`, type: 'STRING' })) }],
      },
    ]) {
      const response = await callApi('/v1/suites', { method: 'POST', key, body });
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(422);
    }
  });

  it('keeps suite names unique case-insensitively: 409 on create and on rename', async () => {
    const key = await writerKey();
    const suite = await createSuite(key);
    const duplicate = await callApi('/v1/suites', { method: 'POST', key, body: { name: suite.name.toUpperCase() } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toMatchObject({
      error: { code: 'conflict', details: { field: 'name', name: suite.name.toUpperCase() } },
    });
    const other = await createSuite(key);
    const rename = await callApi(`/v1/suites/${other.id}`, { method: 'PATCH', key, body: { name: suite.name } });
    expect(rename.status).toBe(409);
    expect(await countRows('select 1 from suites where lower(name) = lower($1)', [suite.name])).toBe(1);
  });

  it('refuses with 409 to delete a suite that a session refers to, and deletes nothing', async () => {
    const { key, userId } = await createTestUser({ scopes: ['api', 'catalog:write'] });
    const suite = await createSuite(key, { actions: [{ name: 'a', parameters: [{ name: 'p', type: 'STRING' }] }] });
    await insertSession(userId, suite.id);
    const response = await callApi(`/v1/suites/${suite.id}`, { method: 'DELETE', key });
    expect(response.status).toBe(409);
    expect(response.json).toMatchObject({ error: { code: 'conflict', details: { referenced_by: 'sessions' } } });
    expect(await countRows('select 1 from suites where id = $1', [suite.id])).toBe(1);
    expect(await countRows('select 1 from actions where suite_id = $1', [suite.id])).toBe(1);
    expect(await countRows('select 1 from action_parameters where action_id = $1', [suite.actions[0]!.id])).toBe(1);
  });

  it('creates nothing when an action of a new suite is refused half-way', async () => {
    const key = await writerKey();
    const name = uniqueName('Atomic');
    const response = await callApi('/v1/suites', {
      method: 'POST',
      key,
      body: { name, actions: [{ name: 'same' }, { name: 'same' }] },
    });
    expect(response.status).toBe(409);
    expect(await countRows('select 1 from suites where name = $1', [name])).toBe(0);
  });

  it('lists suites newest first with total, pages and a name filter', async () => {
    const key = await writerKey();
    const first = await createSuite(key);
    const second = await createSuite(key);
    const list = await callApi('/v1/suites?per_page=100', { key });
    expect(list.status).toBe(200);
    const page = list.json as Page<Suite>;
    expect(page).toMatchObject({ page: 1, per_page: 100 });
    expect(page.total).toBeGreaterThanOrEqual(2);
    const ids = page.items.map((item) => item.id);
    // Others may create suites meanwhile; among ours, the newer comes first.
    if (ids.includes(first.id) && ids.includes(second.id)) {
      expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
    }
    expect(page.items[0]).not.toHaveProperty('actions');

    const byName = await callApi(`/v1/suites?name=${encodeURIComponent(first.name.toLowerCase())}`, { key });
    expect(byName.json).toEqual({
      items: [
        {
          id: first.id,
          name: first.name,
          description: null,
          created_at: first.created_at,
          updated_at: first.updated_at,
        },
      ],
      total: 1,
      page: 1,
      per_page: 20,
    });

    const total = page.total;
    const second1 = await callApi('/v1/suites?page=2&per_page=1', { key });
    expect(second1.json).toMatchObject({ page: 2, per_page: 1 });
    expect((second1.json as Page<Suite>).items).toHaveLength(1);
    expect((second1.json as Page<Suite>).total).toBeGreaterThanOrEqual(total);
    for (const query of ['page=0', 'per_page=101', 'page=abc']) {
      expect((await callApi(`/v1/suites?${query}`, { key })).status, query).toBe(422);
    }
  });
});

describe('actions of a suite', () => {
  it('creates, reads, lists, renames and deletes an action', async () => {
    const key = await writerKey();
    const suite = await createSuite(key);
    const created = await callApi(`/v1/suites/${suite.id}/actions`, {
      method: 'POST',
      key,
      body: {
        name: 'search',
        description: 'Search things.',
        parameters: [
          { name: 'query', type: 'STRING', required: true },
          { name: 'limit', type: 'NUMBER' },
        ],
      },
    });
    expect(created.status, created.text).toBe(201);
    const action = created.json as Action;
    expect(created.headers.get('location')).toBe(`/v1/suites/${suite.id}/actions/${action.id}`);
    expect(action).toMatchObject({ suite_id: suite.id, name: 'search', description: 'Search things.' });
    expect(action.parameters.map((p) => [p.name, p.type, p.required])).toEqual([
      ['query', 'STRING', true],
      ['limit', 'NUMBER', false],
    ]);

    const read = await callApi(`/v1/suites/${suite.id}/actions/${action.id}`, { key });
    expect(read.json).toEqual(action);

    const other = await callApi(`/v1/suites/${suite.id}/actions`, { method: 'POST', key, body: { name: 'other' } });
    const list = await callApi(`/v1/suites/${suite.id}/actions`, { key });
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ total: 2, page: 1, per_page: 20 });
    expect((list.json as Page<Action>).items.map((item) => item.id)).toEqual([(other.json as Action).id, action.id]);
    const paged = await callApi(`/v1/suites/${suite.id}/actions?page=2&per_page=1`, { key });
    expect((paged.json as Page<Action>).items.map((item) => item.id)).toEqual([action.id]);

    const renamed = await callApi(`/v1/suites/${suite.id}/actions/${action.id}`, {
      method: 'PATCH',
      key,
      body: { name: 'find' },
    });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.json).toMatchObject({ name: 'find', parameters: action.parameters });

    const deleted = await callApi(`/v1/suites/${suite.id}/actions/${action.id}`, { method: 'DELETE', key });
    expect(deleted.status).toBe(204);
    expect((await callApi(`/v1/suites/${suite.id}/actions/${action.id}`, { key })).status).toBe(404);
    expect(await countRows('select 1 from action_parameters where action_id = $1', [action.id])).toBe(0);
  });

  it('replaces the parameter list, keeping the ids of parameters that keep their names', async () => {
    const key = await writerKey();
    const suite = await createSuite(key, {
      actions: [
        {
          name: 'act',
          parameters: [
            { name: 'keep', type: 'STRING' },
            { name: 'drop', type: 'NUMBER' },
          ],
        },
      ],
    });
    const action = suite.actions[0]!;
    const keepId = action.parameters[0]!.id;
    const response = await callApi(`/v1/suites/${suite.id}/actions/${action.id}`, {
      method: 'PATCH',
      key,
      body: {
        parameters: [
          { name: 'added', type: 'OBJECT', required: true },
          { name: 'keep', type: 'BOOLEAN', description: 'now a flag' },
        ],
      },
    });
    expect(response.status, response.text).toBe(200);
    const updated = response.json as Action;
    expect(updated.parameters).toEqual([
      { id: expect.any(String), name: 'added', type: 'OBJECT', required: true, description: null },
      { id: keepId, name: 'keep', type: 'BOOLEAN', required: false, description: 'now a flag' },
    ]);
    expect(updated.updated_at > action.updated_at).toBe(true);
    const { rows } = await db.query('select name from action_parameters where action_id = $1 order by position', [
      action.id,
    ]);
    expect(rows.map((row) => row.name)).toEqual(['added', 'keep']);
  });

  it('keeps action names unique within a suite, not across suites', async () => {
    const key = await writerKey();
    const suite = await createSuite(key, { actions: [{ name: 'twin' }, { name: 'other' }] });
    const duplicate = await callApi(`/v1/suites/${suite.id}/actions`, { method: 'POST', key, body: { name: 'twin' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toMatchObject({ error: { code: 'conflict', details: { field: 'name', name: 'twin' } } });
    const rename = await callApi(`/v1/suites/${suite.id}/actions/${suite.actions[0]!.id}`, {
      method: 'PATCH',
      key,
      body: { name: 'twin' },
    });
    expect(rename.status).toBe(409);
    const elsewhere = await createSuite(key);
    const elsewherePath = `/v1/suites/${elsewhere.id}/actions`;
    const sameName = await callApi(elsewherePath, { method: 'POST', key, body: { name: 'twin' } });
    expect(sameName.status).toBe(201);
  });

  it('creates no action when its second parameter repeats the first one\'s name', async () => {
    const key = await writerKey();
    const suite = await createSuite(key);
    const response = await callApi(`/v1/suites/${suite.id}/actions`, {
      method: 'POST',
      key,
      body: {
        name: 'dup',
        parameters: [
          { name: 'p', type: 'STRING' },
          { name: 'p', type: 'NUMBER' },
        ],
      },
    });
    expect(response.status).toBe(409);
    expect(response.json).toMatchObject({
      error: { code: 'conflict', details: { field: 'parameters', duplicate_names: ['p'] } },
    });
    expect(await countRows('select 1 from actions where suite_id = $1', [suite.id])).toBe(0);
  });

  it('refuses duplicate parameter names in a PATCH with 409 and changes nothing', async () => {
    const key = await writerKey();
    const suite = await createSuite(key, { actions: [{ name: 'act', parameters: [{ name: 'p', type: 'STRING' }] }] });
    const action = suite.actions[0]!;
    const response = await callApi(`/v1/suites/${suite.id}/actions/${action.id}`, {
      method: 'PATCH',
      key,
      body: {
        parameters: [
          { name: 'p', type: 'NUMBER' },
          { name: 'p', type: 'BOOLEAN' },
        ],
      },
    });
    expect(response.status).toBe(409);
    const { rows } = await db.query('select id, name, type from action_parameters where action_id = $1', [action.id]);
    expect(rows).toEqual([{ id: action.parameters[0]!.id, name: 'p', type: 'STRING' }]);
  });

  it('rolls back the new parameters when the rename in the same PATCH is refused', async () => {
    const key = await writerKey();
    const suite = await createSuite(key, {
      actions: [{ name: 'taken' }, { name: 'act', parameters: [{ name: 'old', type: 'STRING' }] }],
    });
    const action = suite.actions.find((candidate) => candidate.name === 'act')!;
    const response = await callApi(`/v1/suites/${suite.id}/actions/${action.id}`, {
      method: 'PATCH',
      key,
      body: { name: 'taken', parameters: [{ name: 'new', type: 'NUMBER' }] },
    });
    expect(response.status).toBe(409);
    const { rows } = await db.query('select id, name from action_parameters where action_id = $1', [action.id]);
    expect(rows).toEqual([{ id: action.parameters[0]!.id, name: 'old' }]);
    const { rows: actionRows } = await db.query('select name, updated_at from actions where id = $1', [action.id]);
    expect(actionRows[0].name).toBe('act');
    expect(actionRows[0].updated_at.toISOString()).toBe(action.updated_at);
  });

  it('answers 404 for an unknown suite and for an action of another suite', async () => {
    const key = await writerKey();
    const suite = await createSuite(key, { actions: [{ name: 'mine' }] });
    const other = await createSuite(key);
    const missing = randomUUID();
    expect((await callApi(`/v1/suites/${missing}/actions`, { key })).status).toBe(404);
    expect((await callApi(`/v1/suites/${missing}/actions`, { method: 'POST', key, body: { name: 'a' } })).status).toBe(
      404,
    );
    const actionId = suite.actions[0]!.id;
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { name: 'moved' }],
      ['DELETE', undefined],
    ] as const) {
      const response = await callApi(`/v1/suites/${other.id}/actions/${actionId}`, { method, key, body });
      expect(response.status, method).toBe(404);
    }
    expect(await countRows('select 1 from actions where id = $1 and name = $2', [actionId, 'mine'])).toBe(1);
  });
});

describe('catalog scopes', () => {
  it('lets a key with only the api scope read the catalog but not write it (403)', async () => {
    const reader = await createTestUser({ scopes: ['api'] });
    const key = await writerKey();
    const suite = await createSuite(key, { actions: [{ name: 'a' }] });
    const action = suite.actions[0]!;

    expect((await callApi('/v1/suites', { key: reader.key })).status).toBe(200);
    expect((await callApi(`/v1/suites/${suite.id}`, { key: reader.key })).status).toBe(200);
    expect((await callApi(`/v1/suites/${suite.id}/actions`, { key: reader.key })).status).toBe(200);
    expect((await callApi(`/v1/suites/${suite.id}/actions/${action.id}`, { key: reader.key })).status).toBe(200);

    const name = uniqueName('Forbidden');
    for (const [method, path, body] of [
      ['POST', '/v1/suites', { name }],
      ['PATCH', `/v1/suites/${suite.id}`, { name }],
      ['DELETE', `/v1/suites/${suite.id}`, undefined],
      ['POST', `/v1/suites/${suite.id}/actions`, { name: 'b' }],
      ['PATCH', `/v1/suites/${suite.id}/actions/${action.id}`, { name: 'b' }],
      ['DELETE', `/v1/suites/${suite.id}/actions/${action.id}`, undefined],
    ] as const) {
      const response = await callApi(path, { method, key: reader.key, body });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.json).toMatchObject({
        error: { code: 'forbidden', details: { required_scope: 'catalog:write' } },
      });
    }
    expect(await countRows('select 1 from suites where name = $1', [name])).toBe(0);
    expect(await countRows('select 1 from actions where suite_id = $1', [suite.id])).toBe(1);
  });

  it('needs a key for reads too', async () => {
    expect((await callApi('/v1/suites', { key: null })).status).toBe(401);
  });
});
