import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GMAIL_MCP_SERVER_ID } from '../../shared/seed/catalog.js';
import {
  createServer,
  readerKey,
  uniqueName,
  useCatalogDatabase,
  writerKey,
  type McpServer,
  type Page,
  type Tool,
} from '../support/catalog.js';
import { callApi } from '../support/http.js';
import { createTestUser } from '../support/users.js';

/*
 * MCP servers and their tools through HTTP, including the MCP `tools/list` format. Each test creates servers of
 * its own with unique names and counts only what it created (other files write the catalog at the same time).
 */

const { countRows } = useCatalogDatabase();

describe('MCP servers', () => {
  it('creates a server with its tools, reads, updates and deletes it', async () => {
    const key = await writerKey();
    const name = uniqueName('mail-mcp');
    const created = await callApi('/v1/mcp-servers', {
      method: 'POST',
      key,
      body: {
        name,
        description: 'Mail tools.',
        url: 'https://mcp.example.com/mail',
        tools: [
          {
            name: 'send_email',
            description: 'Send it.',
            parameters: [
              { name: 'to', type: 'STRING', required: true },
              { name: 'flags', type: 'OBJECT' },
            ],
          },
        ],
      },
    });
    expect(created.status, created.text).toBe(201);
    const server = created.json as McpServer;
    expect(created.headers.get('location')).toBe(`/v1/mcp-servers/${server.id}`);
    expect(server).toMatchObject({ name, description: 'Mail tools.', url: 'https://mcp.example.com/mail' });
    expect(server.tools).toHaveLength(1);
    expect(server.tools[0]).toMatchObject({ mcp_server_id: server.id, name: 'send_email' });
    expect(server.tools[0]!.parameters.map((p) => [p.name, p.type, p.required])).toEqual([
      ['to', 'STRING', true],
      ['flags', 'OBJECT', false],
    ]);
    expect((await callApi(`/v1/mcp-servers/${server.id}`, { key })).json).toEqual(server);

    const newName = uniqueName('renamed-mcp');
    const updated = await callApi(`/v1/mcp-servers/${server.id}`, {
      method: 'PATCH',
      key,
      body: { name: newName, url: null },
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.json).toMatchObject({ name: newName, url: null, description: 'Mail tools.' });

    const deleted = await callApi(`/v1/mcp-servers/${server.id}`, { method: 'DELETE', key });
    expect(deleted.status).toBe(204);
    expect((await callApi(`/v1/mcp-servers/${server.id}`, { key })).status).toBe(404);
    expect(await countRows('select 1 from tools where mcp_server_id = $1', [server.id])).toBe(0);
  });

  it('refuses a URL that is not http(s) with 422', async () => {
    const key = await writerKey();
    for (const url of ['ftp://example.com', 'not a url']) {
      const response = await callApi('/v1/mcp-servers', { method: 'POST', key, body: { name: uniqueName('s'), url } });
      expect(response.status, url).toBe(422);
    }
  });

  it('keeps server names unique case-insensitively (409)', async () => {
    const key = await writerKey();
    const server = await createServer(key);
    const duplicate = await callApi('/v1/mcp-servers', {
      method: 'POST',
      key,
      body: { name: server.name.toUpperCase() },
    });
    expect(duplicate.status).toBe(409);
    const other = await createServer(key);
    const rename = await callApi(`/v1/mcp-servers/${other.id}`, { method: 'PATCH', key, body: { name: server.name } });
    expect(rename.status).toBe(409);
  });

  it('creates nothing when a tool of a new server is refused half-way', async () => {
    const key = await writerKey();
    const name = uniqueName('atomic');
    const response = await callApi('/v1/mcp-servers', {
      method: 'POST',
      key,
      body: {
        name,
        tools: [{ name: 't', parameters: [{ name: 'x', type: 'STRING' }, { name: 'x', type: 'STRING' }] }],
      },
    });
    expect(response.status).toBe(409);
    expect(await countRows('select 1 from mcp_servers where name = $1', [name])).toBe(0);
  });

  it('lists servers newest first, with a name filter', async () => {
    const key = await writerKey();
    const first = await createServer(key);
    const second = await createServer(key);
    const list = await callApi('/v1/mcp-servers?per_page=100', { key });
    expect(list.status).toBe(200);
    const ids = (list.json as Page<McpServer>).items.map((item) => item.id);
    if (ids.includes(first.id) && ids.includes(second.id)) {
      expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
    }
    const byName = await callApi(`/v1/mcp-servers?name=${encodeURIComponent(second.name.toUpperCase())}`, { key });
    expect(byName.json).toMatchObject({ total: 1, items: [{ id: second.id, name: second.name }] });
  });

  it('answers 404 for unknown ids and 422 for malformed ones', async () => {
    const key = await writerKey();
    const id = randomUUID();
    expect((await callApi(`/v1/mcp-servers/${id}`, { key })).status).toBe(404);
    expect((await callApi(`/v1/mcp-servers/${id}`, { method: 'PATCH', key, body: { name: 'x' } })).status).toBe(404);
    expect((await callApi(`/v1/mcp-servers/${id}`, { method: 'DELETE', key })).status).toBe(404);
    expect((await callApi(`/v1/mcp-servers/${id}/tools`, { key })).status).toBe(404);
    expect((await callApi(`/v1/mcp-servers/${id}/tools?format=mcp`, { key })).status).toBe(404);
    expect((await callApi(`/v1/mcp-servers/${id}/tools/${id}`, { key })).status).toBe(404);
    expect((await callApi('/v1/mcp-servers/123', { key })).status).toBe(422);
    expect((await callApi(`/v1/mcp-servers/${id}/tools/123`, { key })).status).toBe(422);
    expect((await callApi(`/v1/mcp-servers/${id}/tools?format=openai`, { key })).status).toBe(422);
  });
});

describe('tools of an MCP server', () => {
  it('creates, reads, lists, replaces the parameters of and deletes a tool', async () => {
    const key = await writerKey();
    const server = await createServer(key);
    const created = await callApi(`/v1/mcp-servers/${server.id}/tools`, {
      method: 'POST',
      key,
      body: { name: 'create_issue', parameters: [{ name: 'title', type: 'STRING', required: true }] },
    });
    expect(created.status, created.text).toBe(201);
    const tool = created.json as Tool;
    expect(created.headers.get('location')).toBe(`/v1/mcp-servers/${server.id}/tools/${tool.id}`);
    expect((await callApi(`/v1/mcp-servers/${server.id}/tools/${tool.id}`, { key })).json).toEqual(tool);

    const second = (await callApi(`/v1/mcp-servers/${server.id}/tools`, { method: 'POST', key, body: { name: 'b' } }))
      .json as Tool;
    const list = await callApi(`/v1/mcp-servers/${server.id}/tools`, { key });
    expect(list.json).toMatchObject({ total: 2, page: 1, per_page: 20 });
    expect((list.json as Page<Tool>).items.map((item) => item.id)).toEqual([second.id, tool.id]);

    const patched = await callApi(`/v1/mcp-servers/${server.id}/tools/${tool.id}`, {
      method: 'PATCH',
      key,
      body: {
        name: 'open_issue',
        parameters: [
          { name: 'title', type: 'STRING', required: true },
          { name: 'labels', type: 'ARRAY' },
        ],
      },
    });
    expect(patched.status, patched.text).toBe(200);
    const updated = patched.json as Tool;
    expect(updated.name).toBe('open_issue');
    expect(updated.parameters[0]!.id).toBe(tool.parameters[0]!.id);
    expect(updated.parameters.map((p) => p.name)).toEqual(['title', 'labels']);

    const toolPath = `/v1/mcp-servers/${server.id}/tools/${tool.id}`;
    expect((await callApi(toolPath, { method: 'DELETE', key })).status).toBe(204);
    expect(await countRows('select 1 from tool_parameters where tool_id = $1', [tool.id])).toBe(0);
    expect(await countRows('select 1 from tools where mcp_server_id = $1', [server.id])).toBe(1);
  });

  it('keeps tool names unique within a server and parameter names within a tool (409, nothing created)', async () => {
    const key = await writerKey();
    const server = await createServer(key, { tools: [{ name: 'twin' }] });
    const toolsPath = `/v1/mcp-servers/${server.id}/tools`;
    const duplicate = await callApi(toolsPath, { method: 'POST', key, body: { name: 'twin' } });
    expect(duplicate.status).toBe(409);
    const duplicateParameters = await callApi(toolsPath, {
      method: 'POST',
      key,
      body: { name: 'fresh', parameters: [{ name: 'a', type: 'STRING' }, { name: 'a', type: 'STRING' }] },
    });
    expect(duplicateParameters.status).toBe(409);
    expect(duplicateParameters.json).toMatchObject({ error: { details: { duplicate_names: ['a'] } } });
    expect(await countRows('select 1 from tools where mcp_server_id = $1', [server.id])).toBe(1);
    const elsewhere = await createServer(key);
    const elsewherePath = `/v1/mcp-servers/${elsewhere.id}/tools`;
    const sameName = await callApi(elsewherePath, { method: 'POST', key, body: { name: 'twin' } });
    expect(sameName.status).toBe(201);
  });

  it('answers 404 for a tool of another server', async () => {
    const key = await writerKey();
    const server = await createServer(key, { tools: [{ name: 'mine' }] });
    const other = await createServer(key);
    const toolId = server.tools[0]!.id;
    const path = `/v1/mcp-servers/${other.id}/tools/${toolId}`;
    expect((await callApi(path, { key })).status).toBe(404);
    expect((await callApi(path, { method: 'PATCH', key, body: { name: 'x' } })).status).toBe(404);
    expect((await callApi(path, { method: 'DELETE', key })).status).toBe(404);
    expect(await countRows('select 1 from tools where id = $1', [toolId])).toBe(1);
  });

  it('lists the tools in the MCP tools/list shape with ?format=mcp', async () => {
    const key = await writerKey();
    const server = await createServer(key, {
      tools: [
        {
          name: 'search',
          description: 'Search messages.',
          parameters: [
            { name: 'query', type: 'STRING', required: true, description: 'The query.' },
            { name: 'limit', type: 'NUMBER' },
            { name: 'unread', type: 'BOOLEAN', required: true },
            { name: 'filters', type: 'OBJECT' },
            { name: 'labels', type: 'ARRAY' },
          ],
        },
        { name: 'archive' },
      ],
    });
    const response = await callApi(`/v1/mcp-servers/${server.id}/tools?format=mcp`, { key });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      tools: [
        { name: 'archive', inputSchema: { type: 'object', properties: {}, required: [] } },
        {
          name: 'search',
          description: 'Search messages.',
          inputSchema: {
            type: 'object',
            properties: {
              query: { type: 'string', description: 'The query.' },
              limit: { type: 'number' },
              unread: { type: 'boolean' },
              filters: { type: 'object' },
              labels: { type: 'array' },
            },
            required: ['query', 'unread'],
          },
        },
      ],
    });
  });

  it('gives the seeded gmail-mcp tools in MCP form', async () => {
    const key = await readerKey();
    const response = await callApi(`/v1/mcp-servers/${GMAIL_MCP_SERVER_ID}/tools?format=mcp`, { key });
    expect(response.status).toBe(200);
    const sendEmail = (response.json as { tools: Array<{ name: string; inputSchema: unknown }> }).tools.find(
      (tool) => tool.name === 'send_email',
    );
    expect(sendEmail?.inputSchema).toMatchObject({
      type: 'object',
      properties: { to: { type: 'string' }, cc: { type: 'array' } },
      required: ['to', 'subject', 'body'],
    });
  });

  it('lets a key with only the api scope read servers and tools but not write them (403)', async () => {
    const reader = await createTestUser({ scopes: ['api'] });
    const key = await writerKey();
    const server = await createServer(key, { tools: [{ name: 't' }] });
    const tool = server.tools[0]!;
    for (const path of [
      '/v1/mcp-servers',
      `/v1/mcp-servers/${server.id}`,
      `/v1/mcp-servers/${server.id}/tools`,
      `/v1/mcp-servers/${server.id}/tools?format=mcp`,
      `/v1/mcp-servers/${server.id}/tools/${tool.id}`,
    ]) {
      expect((await callApi(path, { key: reader.key })).status, path).toBe(200);
    }
    for (const [method, path, body] of [
      ['POST', '/v1/mcp-servers', { name: uniqueName('no') }],
      ['PATCH', `/v1/mcp-servers/${server.id}`, { name: uniqueName('no') }],
      ['DELETE', `/v1/mcp-servers/${server.id}`, undefined],
      ['POST', `/v1/mcp-servers/${server.id}/tools`, { name: 'u' }],
      ['PATCH', `/v1/mcp-servers/${server.id}/tools/${tool.id}`, { name: 'u' }],
      ['DELETE', `/v1/mcp-servers/${server.id}/tools/${tool.id}`, undefined],
    ] as const) {
      expect((await callApi(path, { method, key: reader.key, body })).status, `${method} ${path}`).toBe(403);
    }
    expect(await countRows('select 1 from tools where mcp_server_id = $1', [server.id])).toBe(1);
  });
});
