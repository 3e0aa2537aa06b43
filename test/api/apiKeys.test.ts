import { describe, expect, it } from 'vitest';
import { GITHUB_SUITE_ID, GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { callApi } from '../support/http.js';
import { waitForFreshWindow } from '../support/rateLimitWindow.js';
import { createTestUser } from '../support/users.js';

const db = useApiDatabaseClient();

interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  name: string;
  scopes: string[];
  suite_ids: string[] | null;
  created_at: string;
  last_used_at: string | null;
}

async function activeKeyCount(userId: string): Promise<number> {
  const { rows } = await db.query('select count(*)::int as n from api_keys where user_id = $1 and revoked_at is null', [
    userId,
  ]);
  return rows[0].n as number;
}

describe('POST /v1/api-keys', () => {
  it('returns the secret once; lists show it masked; the new key works and records its use', async () => {
    const owner = await createTestUser({ scopes: ['api', 'catalog:write'] });
    const created = await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: { name: 'ci' } });
    expect(created.status).toBe(201);
    const key = created.json as CreatedKey;
    expect(key).toEqual({
      id: expect.any(String),
      key: expect.stringMatching(/^tp_live_sk_[A-Za-z0-9_-]{43}$/),
      prefix: expect.stringMatching(/^tp_live_sk_.{4}\.\.\..{4}$/),
      name: 'ci',
      scopes: ['api'],
      suite_ids: null,
      created_at: expect.any(String),
      last_used_at: null,
    });
    expect(key.prefix).toBe(`tp_live_sk_${key.key.slice(11, 15)}...${key.key.slice(-4)}`);
    const { rows } = await db.query('select key_hash from api_keys where id = $1', [key.id]);
    expect(rows[0].key_hash).not.toContain(key.key.slice(11));

    expect((await callApi('/v1/users/me', { key: key.key })).status).toBe(200);
    const list = await callApi('/v1/api-keys', { key: owner.key });
    expect(list.status).toBe(200);
    const page = list.json as { items: Array<Record<string, unknown>>; total: number; page: number; per_page: number };
    expect(page).toMatchObject({ total: 2, page: 1, per_page: 20 });
    expect(page.items[0]).toMatchObject({ id: key.id, prefix: key.prefix, last_used_at: expect.any(String) });
    expect(page.items[0]).not.toHaveProperty('key');
    expect(JSON.stringify(page)).not.toContain(key.key);
  });

  it('never grants a scope its creator lacks', async () => {
    const owner = await createTestUser({ scopes: ['api'] });
    const response = await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: { scopes: ['api', 'pipeline'] } });
    expect(response.status).toBe(403);
    expect(response.json).toEqual({
      error: { code: 'forbidden', message: expect.any(String), details: { scopes: ['pipeline'] } },
    });
    expect(await activeKeyCount(owner.userId)).toBe(1);
  });

  it('keeps a suite-limited key\'s children within its suites', async () => {
    const owner = await createTestUser({ suiteIds: [GMAIL_SUITE_ID] });
    const wider = await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: {} });
    expect(wider.status).toBe(403);
    const other = await callApi('/v1/api-keys', {
      method: 'POST',
      key: owner.key,
      body: { suite_ids: [GITHUB_SUITE_ID] },
    });
    expect(other.status).toBe(403);
    const same = await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: { suite_ids: [GMAIL_SUITE_ID] } });
    expect(same.status).toBe(201);
    expect((same.json as CreatedKey).suite_ids).toEqual([GMAIL_SUITE_ID]);
  });

  it('names unknown suites and invalid values with 422, creating nothing', async () => {
    const owner = await createTestUser();
    const unknown = await callApi('/v1/api-keys', {
      method: 'POST',
      key: owner.key,
      body: { suite_ids: ['00000000-0000-4000-8000-00000000dead'] },
    });
    expect(unknown.status).toBe(422);
    expect(JSON.stringify(unknown.json)).toContain('00000000-0000-4000-8000-00000000dead');
    const badScope = await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: { scopes: ['root'] } });
    expect(badScope.status).toBe(422);
    expect((badScope.json as { error: { details: { fields: Array<{ field: string }> } } }).error.details.fields[0]?.field).toBe(
      'scopes.0',
    );
    const notJson = await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: '{"name":' });
    expect(notJson.status).toBe(400);
    expect(await activeKeyCount(owner.userId)).toBe(1);
  });
});

describe('DELETE /v1/api-keys/{id}', () => {
  it('revokes a key so that its next request is 401, and a second revocation is 404', async () => {
    const owner = await createTestUser();
    const created = (await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: {} })).json as CreatedKey;
    expect((await callApi('/v1/users/me', { key: created.key })).status).toBe(200);
    const revoked = await callApi(`/v1/api-keys/${created.id}`, { method: 'DELETE', key: owner.key });
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe('');
    expect((await callApi('/v1/users/me', { key: created.key })).status).toBe(401);
    expect((await callApi(`/v1/api-keys/${created.id}`, { method: 'DELETE', key: owner.key })).status).toBe(404);
    const list = (await callApi('/v1/api-keys', { key: owner.key })).json as { items: Array<{ id: string }> };
    expect(list.items.map((item) => item.id)).not.toContain(created.id);
  });

  it('lets a key revoke itself', async () => {
    const owner = await createTestUser();
    expect((await callApi(`/v1/api-keys/${owner.apiKeyId}`, { method: 'DELETE', key: owner.key })).status).toBe(204);
    expect((await callApi('/v1/users/me', { key: owner.key })).status).toBe(401);
  });

  it('does not let a narrower key revoke a wider one', async () => {
    const owner = await createTestUser({ scopes: ['api', 'catalog:write'] });
    const narrow = (await callApi('/v1/api-keys', { method: 'POST', key: owner.key, body: {} })).json as CreatedKey;
    const response = await callApi(`/v1/api-keys/${owner.apiKeyId}`, { method: 'DELETE', key: narrow.key });
    expect(response.status).toBe(403);
    expect((await callApi('/v1/users/me', { key: owner.key })).status).toBe(200);
  });

  it('answers a malformed id with 422', async () => {
    const owner = await createTestUser();
    expect((await callApi('/v1/api-keys/not-a-uuid', { method: 'DELETE', key: owner.key })).status).toBe(422);
  });
});

describe("another user's data is 404 and stays as it was", () => {
  it('cannot see or revoke the other user\'s keys', async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const response = await callApi(`/v1/api-keys/${alice.apiKeyId}`, { method: 'DELETE', key: bob.key });
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ error: { code: 'not_found', message: 'No such API key.' } });
    expect((await callApi('/v1/users/me', { key: alice.key })).status).toBe(200);
    const bobsList = (await callApi('/v1/api-keys', { key: bob.key })).json as { items: Array<{ id: string }>; total: number };
    expect(bobsList.total).toBe(1);
    expect(bobsList.items.map((item) => item.id)).toEqual([bob.apiKeyId]);
    const me = (await callApi('/v1/users/me', { key: bob.key })).json as { id: string };
    expect(me.id).toBe(bob.userId);
  });
});

describe('the key-management rate limit', () => {
  it('allows 10 key operations a minute per key, then 429, while other calls go on', async () => {
    const owner = await createTestUser();
    await waitForFreshWindow(db);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push((await callApi('/v1/api-keys', { key: owner.key })).status);
    }
    expect(statuses).toEqual([...Array(10).fill(200), 429]);
    const limited = await callApi('/v1/api-keys', { key: owner.key });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('10');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    const me = await callApi('/v1/users/me', { key: owner.key });
    expect(me.status).toBe(200);
    expect(me.headers.get('x-ratelimit-limit')).toBe('100');
  });
});
