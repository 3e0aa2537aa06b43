import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useCatalogDatabase, writerKey } from '../support/catalog.js';
import { callApi } from '../support/http.js';

/*
 * An action or a tool is written below its parent; a parent that does not exist (or was deleted meanwhile) is the
 * parent's 404, told by the insert's foreign key, and nothing is written.
 */

const { countRows } = useCatalogDatabase();

describe('children of a parent that does not exist', () => {
  it('answers 404 "No suite with this id." to an action created below a missing suite, writing nothing', async () => {
    const key = await writerKey();
    const suiteId = randomUUID();
    const response = await callApi(`/v1/suites/${suiteId}/actions`, {
      method: 'POST',
      key,
      body: { name: 'compose', parameters: [{ name: 'to', type: 'STRING' }] },
    });
    expect(response.status, response.text).toBe(404);
    expect(response.json).toEqual({ error: { code: 'not_found', message: 'No suite with this id.' } });
    expect(await countRows('select 1 from actions where suite_id = $1', [suiteId])).toBe(0);
  });

  it('answers 404 "No MCP server with this id." to a tool created below a missing server, writing nothing', async () => {
    const key = await writerKey();
    const serverId = randomUUID();
    const response = await callApi(`/v1/mcp-servers/${serverId}/tools`, {
      method: 'POST',
      key,
      body: { name: 'send_email', parameters: [{ name: 'to', type: 'STRING' }] },
    });
    expect(response.status, response.text).toBe(404);
    expect(response.json).toEqual({ error: { code: 'not_found', message: 'No MCP server with this id.' } });
    expect(await countRows('select 1 from tools where mcp_server_id = $1', [serverId])).toBe(0);
  });
});
