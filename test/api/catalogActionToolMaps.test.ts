import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GMAIL_ACTION_TOOL_MAP_ID, GMAIL_SUITE_ID, SEED_MODEL_IDS } from '../../shared/seed/catalog.js';
import { readerKey, uniqueName, useCatalogDatabase } from '../support/catalog.js';
import { callApi } from '../support/http.js';
import { createTestUser } from '../support/users.js';

/*
 * Action-tool maps through HTTP: creation with the whole tree, every validation rule (422 naming the ids), the
 * full-tree read, filters, deletion, and the references that make deleting or retyping catalog entries a 409.
 */

const { db, countRows } = useCatalogDatabase();

interface Parameter {
  id: string;
  name: string;
  type: string;
}
interface Owner {
  id: string;
  name: string;
  parameters: Parameter[];
}
interface MapTree {
  id: string;
  suite_id: string;
  suite_name: string;
  mcp_server_id: string;
  mcp_server_name: string;
  name: string | null;
  description: string | null;
  created_at: string;
  mappings: Array<{
    id: string;
    action_id: string;
    action_name: string;
    tool_id: string;
    tool_name: string;
    parameter_mappings: Array<{
      id: string;
      action_parameter_id: string;
      action_parameter_name: string;
      tool_parameter_id: string;
      tool_parameter_name: string;
      type: string;
    }>;
  }>;
}
interface Violation {
  rule: string;
  field: string;
  [id: string]: string;
}

function byName<T extends { name: string }>(items: T[], name: string): T {
  const found = items.find((item) => item.name === name);
  if (!found) throw new Error(`no ${name} in ${items.map((item) => item.name).join(', ')}`);
  return found;
}

/**
 * A catalog of the test's own: a suite (send: to STRING, count NUMBER; archive: id STRING) and a server
 * (send_email: to STRING, count NUMBER; archive_email: id STRING), plus another suite and server to be wrong with.
 */
async function buildCatalog() {
  const user = await createTestUser({ scopes: ['api', 'catalog:write'] });
  const key = user.key;
  const post = async (path: string, body: unknown) => {
    const response = await callApi(path, { method: 'POST', key, body });
    expect(response.status, response.text).toBe(201);
    return response.json as { id: string; actions?: Owner[]; tools?: Owner[] };
  };
  const suite = await post('/v1/suites', {
    name: uniqueName('Mail'),
    actions: [
      {
        name: 'send',
        parameters: [
          { name: 'to', type: 'STRING', required: true },
          { name: 'count', type: 'NUMBER' },
        ],
      },
      { name: 'archive', parameters: [{ name: 'id', type: 'STRING' }] },
    ],
  });
  const server = await post('/v1/mcp-servers', {
    name: uniqueName('mail-mcp'),
    tools: [
      {
        name: 'send_email',
        parameters: [
          { name: 'to', type: 'STRING' },
          { name: 'count', type: 'NUMBER' },
        ],
      },
      { name: 'archive_email', parameters: [{ name: 'id', type: 'STRING' }] },
    ],
  });
  const otherSuite = await post('/v1/suites', { name: uniqueName('Other'), actions: [{ name: 'send' }] });
  const otherServer = await post('/v1/mcp-servers', { name: uniqueName('other-mcp'), tools: [{ name: 'send_email' }] });
  const send = byName(suite.actions!, 'send');
  const archive = byName(suite.actions!, 'archive');
  const sendEmail = byName(server.tools!, 'send_email');
  const archiveEmail = byName(server.tools!, 'archive_email');
  const param = (owner: Owner, name: string) => byName(owner.parameters, name).id;
  return {
    key,
    userId: user.userId,
    suiteId: suite.id,
    serverId: server.id,
    send,
    archive,
    sendEmail,
    archiveEmail,
    otherAction: otherSuite.actions![0]!,
    otherTool: otherServer.tools![0]!,
    param,
    /** A valid map body: send -> send_email (to, count), archive -> archive_email (id). */
    validBody(): Record<string, unknown> {
      return {
        suite_id: suite.id,
        mcp_server_id: server.id,
        name: 'Mail to mail-mcp',
        mappings: [
          {
            action_id: send.id,
            tool_id: sendEmail.id,
            parameter_mappings: [
              { action_parameter_id: param(send, 'to'), tool_parameter_id: param(sendEmail, 'to') },
              { action_parameter_id: param(send, 'count'), tool_parameter_id: param(sendEmail, 'count') },
            ],
          },
          {
            action_id: archive.id,
            tool_id: archiveEmail.id,
            parameter_mappings: [
              { action_parameter_id: param(archive, 'id'), tool_parameter_id: param(archiveEmail, 'id') },
            ],
          },
        ],
      };
    },
  };
}

type Catalog = Awaited<ReturnType<typeof buildCatalog>>;

async function createMap(catalog: Catalog, body = catalog.validBody()): Promise<MapTree> {
  const response = await callApi('/v1/action-tool-maps', { method: 'POST', key: catalog.key, body });
  expect(response.status, response.text).toBe(201);
  return response.json as MapTree;
}

describe('creating and reading action-tool maps', () => {
  it('creates a map with its mappings in one request and returns the full tree with ids and names', async () => {
    const catalog = await buildCatalog();
    const { send, archive, sendEmail, archiveEmail, param } = catalog;
    const body = catalog.validBody();
    const response = await callApi('/v1/action-tool-maps', { method: 'POST', key: catalog.key, body });
    expect(response.status, response.text).toBe(201);
    const map = response.json as MapTree;
    expect(response.headers.get('location')).toBe(`/v1/action-tool-maps/${map.id}`);
    expect(map).toEqual({
      id: expect.any(String),
      suite_id: catalog.suiteId,
      suite_name: expect.stringMatching(/^Mail-/),
      mcp_server_id: catalog.serverId,
      mcp_server_name: expect.stringMatching(/^mail-mcp-/),
      name: 'Mail to mail-mcp',
      description: null,
      created_at: expect.stringMatching(/Z$/),
      mappings: [
        {
          id: expect.any(String),
          action_id: archive.id,
          action_name: 'archive',
          tool_id: archiveEmail.id,
          tool_name: 'archive_email',
          parameter_mappings: [
            {
              id: expect.any(String),
              action_parameter_id: param(archive, 'id'),
              action_parameter_name: 'id',
              tool_parameter_id: param(archiveEmail, 'id'),
              tool_parameter_name: 'id',
              type: 'STRING',
            },
          ],
        },
        {
          id: expect.any(String),
          action_id: send.id,
          action_name: 'send',
          tool_id: sendEmail.id,
          tool_name: 'send_email',
          parameter_mappings: [
            expect.objectContaining({ action_parameter_name: 'to', tool_parameter_name: 'to', type: 'STRING' }),
            expect.objectContaining({ action_parameter_name: 'count', tool_parameter_name: 'count', type: 'NUMBER' }),
          ],
        },
      ],
    });
    const read = await callApi(`/v1/action-tool-maps/${map.id}`, { key: catalog.key });
    expect(read.status).toBe(200);
    expect(read.json).toEqual(map);
    expect(await countRows('select 1 from action_tool_mappings where action_tool_map_id = $1', [map.id])).toBe(2);
    expect(
      await countRows(
        `select 1 from action_tool_parameter_mappings pm join action_tool_mappings m on m.id = pm.action_tool_mapping_id
         where m.action_tool_map_id = $1`,
        [map.id],
      ),
    ).toBe(3);
  });

  it('reads the seeded Gmail map', async () => {
    const response = await callApi(`/v1/action-tool-maps/${GMAIL_ACTION_TOOL_MAP_ID}`, { key: await readerKey() });
    expect(response.status).toBe(200);
    const map = response.json as MapTree;
    expect(map.suite_name).toBe('Gmail');
    const label = map.mappings.find((mapping) => mapping.action_name === 'apply_label');
    expect(label?.tool_name).toBe('add_label');
    expect(label?.parameter_mappings.map((pm) => [pm.action_parameter_name, pm.tool_parameter_name])).toEqual([
      ['message_id', 'message_id'],
      ['label', 'label_name'],
    ]);
  });

  it('lists maps newest first, filtered by suite and by server, with mapping counts', async () => {
    const catalog = await buildCatalog();
    const first = await createMap(catalog);
    const second = await createMap(catalog, {
      ...catalog.validBody(),
      name: null,
      mappings: [{ action_id: catalog.send.id, tool_id: catalog.sendEmail.id }],
    });
    const bySuite = await callApi(`/v1/action-tool-maps?suite_id=${catalog.suiteId}`, { key: catalog.key });
    expect(bySuite.status).toBe(200);
    expect(bySuite.json).toEqual({
      items: [
        {
          id: second.id,
          suite_id: catalog.suiteId,
          suite_name: second.suite_name,
          mcp_server_id: catalog.serverId,
          mcp_server_name: second.mcp_server_name,
          name: null,
          description: null,
          created_at: second.created_at,
          mapping_count: 1,
        },
        expect.objectContaining({ id: first.id, mapping_count: 2, name: 'Mail to mail-mcp' }),
      ],
      total: 2,
      page: 1,
      per_page: 20,
    });
    const both = await callApi(
      `/v1/action-tool-maps?suite_id=${catalog.suiteId}&mcp_server_id=${catalog.serverId}&per_page=1&page=2`,
      { key: catalog.key },
    );
    expect(both.json).toMatchObject({ total: 2, page: 2, per_page: 1, items: [{ id: first.id }] });
    const otherServer = await callApi(
      `/v1/action-tool-maps?suite_id=${catalog.suiteId}&mcp_server_id=${catalog.otherTool.id}`,
      { key: catalog.key },
    );
    expect(otherServer.json).toMatchObject({ total: 0, items: [] });
    const seeded = await callApi(`/v1/action-tool-maps?suite_id=${GMAIL_SUITE_ID}`, { key: catalog.key });
    expect((seeded.json as { items: Array<{ id: string }> }).items.map((item) => item.id)).toContain(
      GMAIL_ACTION_TOOL_MAP_ID,
    );
    expect((await callApi('/v1/action-tool-maps?suite_id=nope', { key: catalog.key })).status).toBe(422);
  });

  it('deletes a map with its mappings', async () => {
    const catalog = await buildCatalog();
    const map = await createMap(catalog);
    const response = await callApi(`/v1/action-tool-maps/${map.id}`, { method: 'DELETE', key: catalog.key });
    expect(response.status).toBe(204);
    expect((await callApi(`/v1/action-tool-maps/${map.id}`, { key: catalog.key })).status).toBe(404);
    expect(await countRows('select 1 from action_tool_mappings where action_tool_map_id = $1', [map.id])).toBe(0);
    expect((await callApi(`/v1/action-tool-maps/${map.id}`, { method: 'DELETE', key: catalog.key })).status).toBe(404);
  });

  it('answers 404 for an unknown map and 422 for a malformed id', async () => {
    const key = await readerKey();
    expect((await callApi(`/v1/action-tool-maps/${randomUUID()}`, { key })).status).toBe(404);
    expect((await callApi('/v1/action-tool-maps/xyz', { key })).status).toBe(422);
  });
});

describe('action-tool map validation', () => {
  async function expectViolations(catalog: Catalog, body: Record<string, unknown>): Promise<Violation[]> {
    const response = await callApi('/v1/action-tool-maps', { method: 'POST', key: catalog.key, body });
    expect(response.status, response.text).toBe(422);
    type Invalid = { error: { code: string; details: { violations: Violation[]; fields: unknown[] } } };
    const error = (response.json as Invalid).error;
    expect(error.code).toBe('validation_error');
    expect(error.details.fields).toHaveLength(error.details.violations.length);
    expect(await countRows('select 1 from action_tool_maps where suite_id = $1', [catalog.suiteId])).toBe(0);
    return error.details.violations;
  }

  function withFirstMapping(catalog: Catalog, change: Record<string, unknown>) {
    const body = catalog.validBody();
    const mappings = body.mappings as Array<Record<string, unknown>>;
    mappings[0] = { ...mappings[0], ...change };
    return body;
  }

  it('refuses an action of another suite, naming it', async () => {
    const catalog = await buildCatalog();
    const violations = await expectViolations(
      catalog,
      withFirstMapping(catalog, { action_id: catalog.otherAction.id, parameter_mappings: [] }),
    );
    expect(violations).toEqual([
      expect.objectContaining({
        rule: 'action_not_in_suite',
        field: 'mappings.0.action_id',
        action_id: catalog.otherAction.id,
      }),
    ]);
  });

  it('refuses an action that does not exist', async () => {
    const catalog = await buildCatalog();
    const missing = randomUUID();
    const violations = await expectViolations(
      catalog,
      withFirstMapping(catalog, { action_id: missing, parameter_mappings: [] }),
    );
    expect(violations).toEqual([expect.objectContaining({ rule: 'action_not_in_suite', action_id: missing })]);
  });

  it('refuses a tool of another server, naming it', async () => {
    const catalog = await buildCatalog();
    const violations = await expectViolations(
      catalog,
      withFirstMapping(catalog, { tool_id: catalog.otherTool.id, parameter_mappings: [] }),
    );
    expect(violations).toEqual([
      expect.objectContaining({
        rule: 'tool_not_in_server',
        field: 'mappings.0.tool_id',
        tool_id: catalog.otherTool.id,
      }),
    ]);
  });

  it('refuses a parameter of another action, and a tool parameter of another tool', async () => {
    const catalog = await buildCatalog();
    const { param, send, archive, sendEmail, archiveEmail } = catalog;
    const violations = await expectViolations(
      catalog,
      withFirstMapping(catalog, {
        parameter_mappings: [
          { action_parameter_id: param(archive, 'id'), tool_parameter_id: param(sendEmail, 'to') },
          { action_parameter_id: param(send, 'to'), tool_parameter_id: param(archiveEmail, 'id') },
        ],
      }),
    );
    expect(violations).toEqual([
      expect.objectContaining({
        rule: 'action_parameter_not_of_action',
        field: 'mappings.0.parameter_mappings.0.action_parameter_id',
        action_id: send.id,
        action_parameter_id: param(archive, 'id'),
      }),
      expect.objectContaining({
        rule: 'tool_parameter_not_of_tool',
        field: 'mappings.0.parameter_mappings.1.tool_parameter_id',
        tool_id: sendEmail.id,
        tool_parameter_id: param(archiveEmail, 'id'),
      }),
    ]);
  });

  it('refuses parameters of different types', async () => {
    const catalog = await buildCatalog();
    const { param, send, sendEmail } = catalog;
    const violations = await expectViolations(
      catalog,
      withFirstMapping(catalog, {
        parameter_mappings: [{ action_parameter_id: param(send, 'count'), tool_parameter_id: param(sendEmail, 'to') }],
      }),
    );
    expect(violations).toEqual([
      {
        rule: 'incompatible_parameter_types',
        field: 'mappings.0.parameter_mappings.0',
        message: expect.any(String),
        action_parameter_id: param(send, 'count'),
        tool_parameter_id: param(sendEmail, 'to'),
        action_parameter_type: 'NUMBER',
        tool_parameter_type: 'STRING',
      },
    ]);
  });

  it('refuses an action mapped twice, and a parameter mapped twice within a mapping', async () => {
    const catalog = await buildCatalog();
    const { param, send, sendEmail, archiveEmail } = catalog;
    const body = catalog.validBody();
    const violations = await expectViolations(catalog, {
      ...body,
      mappings: [
        {
          action_id: send.id,
          tool_id: sendEmail.id,
          parameter_mappings: [
            { action_parameter_id: param(send, 'to'), tool_parameter_id: param(sendEmail, 'to') },
            { action_parameter_id: param(send, 'to'), tool_parameter_id: param(sendEmail, 'to') },
          ],
        },
        { action_id: send.id, tool_id: archiveEmail.id },
      ],
    });
    expect(violations.map((violation) => [violation.rule, violation.field])).toEqual([
      ['action_parameter_mapped_twice', 'mappings.0.parameter_mappings.1.action_parameter_id'],
      ['tool_parameter_mapped_twice', 'mappings.0.parameter_mappings.1.tool_parameter_id'],
      ['action_mapped_twice', 'mappings.1.action_id'],
    ]);
    expect(violations[2]).toMatchObject({ action_id: send.id });
  });

  it('refuses an unknown suite or server with 422 naming the field', async () => {
    const catalog = await buildCatalog();
    const response = await callApi('/v1/action-tool-maps', {
      method: 'POST',
      key: catalog.key,
      body: { ...catalog.validBody(), suite_id: randomUUID(), mcp_server_id: randomUUID() },
    });
    expect(response.status).toBe(422);
    const fields = (response.json as { error: { details: { fields: Array<{ field: string }> } } }).error.details.fields;
    expect(fields.map((field) => field.field)).toEqual(['suite_id', 'mcp_server_id']);
  });

  it('refuses an empty or malformed body', async () => {
    const catalog = await buildCatalog();
    const post = (body: unknown) => callApi('/v1/action-tool-maps', { method: 'POST', key: catalog.key, body });
    expect((await post({ ...catalog.validBody(), mappings: [] })).status).toBe(422);
    expect((await post({ suite_id: catalog.suiteId, mcp_server_id: catalog.serverId })).status).toBe(400);
    expect(
      (await post({ ...catalog.validBody(), mappings: [{ action_id: 'nope', tool_id: catalog.sendEmail.id }] })).status,
    ).toBe(422);
  });
});

describe('references to mapped catalog entries', () => {
  it('refuses with 409 to delete a mapped action, tool, suite or server, and deletes nothing', async () => {
    const catalog = await buildCatalog();
    const map = await createMap(catalog);
    const key = catalog.key;
    for (const path of [
      `/v1/suites/${catalog.suiteId}/actions/${catalog.send.id}`,
      `/v1/mcp-servers/${catalog.serverId}/tools/${catalog.sendEmail.id}`,
      `/v1/suites/${catalog.suiteId}`,
      `/v1/mcp-servers/${catalog.serverId}`,
    ]) {
      const response = await callApi(path, { method: 'DELETE', key });
      expect(response.status, path).toBe(409);
      // The map, its mapping or its parameter mapping: whichever foreign key PostgreSQL checks first.
      expect(response.json).toMatchObject({
        error: { code: 'conflict', details: { referenced_by: expect.stringMatching(/^action_tool_/) } },
      });
    }
    expect(await countRows('select 1 from actions where suite_id = $1', [catalog.suiteId])).toBe(2);
    expect(await countRows('select 1 from tools where mcp_server_id = $1', [catalog.serverId])).toBe(2);
    expect(await countRows('select 1 from action_parameters where action_id = $1', [catalog.send.id])).toBe(2);
    expect((await callApi(`/v1/action-tool-maps/${map.id}`, { key })).json).toEqual(map);

    // Once the map is gone, they can go.
    expect((await callApi(`/v1/action-tool-maps/${map.id}`, { method: 'DELETE', key })).status).toBe(204);
    expect((await callApi(`/v1/suites/${catalog.suiteId}`, { method: 'DELETE', key })).status).toBe(204);
    expect((await callApi(`/v1/mcp-servers/${catalog.serverId}`, { method: 'DELETE', key })).status).toBe(204);
  });

  it('refuses with 409 to drop or retype a mapped parameter, and changes nothing', async () => {
    const catalog = await buildCatalog();
    const map = await createMap(catalog);
    const { key, send, sendEmail, param } = catalog;
    const actionPath = `/v1/suites/${catalog.suiteId}/actions/${send.id}`;

    const dropped = await callApi(actionPath, {
      method: 'PATCH',
      key,
      body: { parameters: [{ name: 'to', type: 'STRING', required: true }] },
    });
    expect(dropped.status).toBe(409);
    expect(dropped.json).toMatchObject({
      error: {
        details: {
          mapped_parameters: [
            { parameter_id: param(send, 'count'), name: 'count', action_tool_map_id: map.id, reason: 'removed' },
          ],
        },
      },
    });

    const retyped = await callApi(`/v1/mcp-servers/${catalog.serverId}/tools/${sendEmail.id}`, {
      method: 'PATCH',
      key,
      body: {
        parameters: [
          { name: 'to', type: 'ARRAY' },
          { name: 'count', type: 'NUMBER' },
        ],
      },
    });
    expect(retyped.status).toBe(409);
    expect(retyped.json).toMatchObject({
      error: { details: { mapped_parameters: [{ name: 'to', reason: 'type_changed', mapped_type: 'STRING' }] } },
    });
    const { rows } = await db.query('select name, type from tool_parameters where tool_id = $1 order by position', [
      sendEmail.id,
    ]);
    expect(rows).toEqual([
      { name: 'to', type: 'STRING' },
      { name: 'count', type: 'NUMBER' },
    ]);
    expect(await countRows('select 1 from action_parameters where action_id = $1', [send.id])).toBe(2);

    // Renaming the action and adding a parameter keeps the map intact, and the tree shows the new name.
    const renamed = await callApi(actionPath, {
      method: 'PATCH',
      key,
      body: {
        name: 'send_message',
        parameters: [
          { name: 'to', type: 'STRING', required: true },
          { name: 'count', type: 'NUMBER' },
          { name: 'subject', type: 'STRING' },
        ],
      },
    });
    expect(renamed.status, renamed.text).toBe(200);
    const tree = (await callApi(`/v1/action-tool-maps/${map.id}`, { key })).json as MapTree;
    const mapping = tree.mappings.find((candidate) => candidate.action_id === send.id);
    expect(mapping?.action_name).toBe('send_message');
    expect(mapping?.parameter_mappings.map((pm) => pm.action_parameter_id)).toEqual([
      param(send, 'to'),
      param(send, 'count'),
    ]);
  });

  it('refuses with 409 to delete a map that an example was generated with', async () => {
    const catalog = await buildCatalog();
    const map = await createMap(catalog);
    const session = await db.query<{ id: string }>(
      `insert into sessions (user_id, suite_id, storage_path) values ($1, $2, 'sessions/x/') returning id`,
      [catalog.userId, catalog.suiteId],
    );
    await db.query(
      `insert into examples (user_id, session_id, suite_id, model_id, action_tool_map_id, storage_path)
       values ($1, $2, $3, $4, $5, 'examples/x/')`,
      [catalog.userId, session.rows[0]!.id, catalog.suiteId, SEED_MODEL_IDS['openai/gpt-4o'], map.id],
    );
    const response = await callApi(`/v1/action-tool-maps/${map.id}`, { method: 'DELETE', key: catalog.key });
    expect(response.status).toBe(409);
    expect(response.json).toMatchObject({ error: { code: 'conflict', details: { referenced_by: 'examples' } } });
    expect(await countRows('select 1 from action_tool_mappings where action_tool_map_id = $1', [map.id])).toBe(2);
  });
});

describe('action-tool map scopes', () => {
  it('lets a key with only the api scope read maps but not create or delete them (403)', async () => {
    const catalog = await buildCatalog();
    const map = await createMap(catalog);
    const reader = await createTestUser({ scopes: ['api'] });
    expect((await callApi('/v1/action-tool-maps', { key: reader.key })).status).toBe(200);
    expect((await callApi(`/v1/action-tool-maps/${map.id}`, { key: reader.key })).status).toBe(200);
    const body = catalog.validBody();
    const created = await callApi('/v1/action-tool-maps', { method: 'POST', key: reader.key, body });
    expect(created.status).toBe(403);
    const deleted = await callApi(`/v1/action-tool-maps/${map.id}`, { method: 'DELETE', key: reader.key });
    expect(deleted.status).toBe(403);
    expect(await countRows('select 1 from action_tool_maps where suite_id = $1', [catalog.suiteId])).toBe(1);
  });
});
