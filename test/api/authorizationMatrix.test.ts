import { beforeAll, describe, expect, it } from 'vitest';
import { GMAIL_SUITE_ID, SEED_MODEL_IDS } from '../../shared/seed/catalog.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { callApi } from '../support/http.js';
import { createSessionRow } from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';

/**
 * Every endpoint that takes the id of a user's own data, called by another user with the first one's ids:
 * 404 everywhere (never 403, which would tell the id exists), and nothing changed.
 */
const db = useApiDatabaseClient();
let alice: TestUser;
let bob: TestUser;
const ids: Record<string, string> = {};

async function snapshot(): Promise<unknown> {
  // One client: one query at a time (pg queues concurrent ones, and pg 9 will refuse them).
  const keys = await db.query('select id, revoked_at from api_keys where user_id = $1 order by id', [alice.userId]);
  const sessions = await db.query('select id, status, updated_at from sessions where user_id = $1 order by id', [alice.userId]);
  const examples = await db.query('select id, status, updated_at from examples where user_id = $1 order by id', [alice.userId]);
  return { keys: keys.rows, sessions: sessions.rows, examples: examples.rows };
}

beforeAll(async () => {
  alice = await createTestUser();
  bob = await createTestUser();
  ids.key = alice.apiKeyId;
  ids.readySession = await createSessionRow(alice.userId, GMAIL_SUITE_ID);
  const upload = await callApi('/v1/sessions', { method: 'POST', key: alice.key, body: { suite_id: GMAIL_SUITE_ID } });
  expect(upload.status).toBe(201);
  ids.pendingSession = (upload.json as { id: string }).id;
  const example = await callApi('/v1/examples', {
    method: 'POST',
    key: alice.key,
    body: { session_id: ids.readySession, model_id: SEED_MODEL_IDS['openai/gpt-4o'] },
  });
  expect(example.status).toBe(201);
  ids.example = (example.json as { id: string }).id;
});


describe("another user's ids", () => {
  it('are 404 on every endpoint, and change nothing', async () => {
    const before = await snapshot();
    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/v1/sessions/${ids.readySession}`],
      ['GET', `/v1/sessions/${ids.pendingSession}`],
      ['GET', `/v1/examples/${ids.example}`],
      ['GET', `/v1/examples/${ids.example}/messages`],
      ['GET', `/v1/examples/${ids.example}/messages?download=url`],
      ['DELETE', `/v1/api-keys/${ids.key}`],
      ['POST', '/v1/examples', { session_id: ids.readySession, model_id: SEED_MODEL_IDS['openai/gpt-4o'] }],
    ];
    for (const [method, path, body] of calls) {
      const response = await callApi(path, { method, key: bob.key, body });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect((response.json as { error: { code: string } }).error.code, `${method} ${path}`).toBe('not_found');
    }
    const lists = [
      ['/v1/sessions', 'items'],
      ['/v1/examples', 'items'],
      ['/v1/api-keys', 'items'],
    ] as const;
    for (const [path] of lists) {
      const page = (await callApi(path, { key: bob.key })).json as { items: Array<{ id: string }> };
      expect(page.items.map((item) => item.id), path).not.toContain(ids.readySession);
      expect(page.items.map((item) => item.id), path).not.toContain(ids.example);
      expect(page.items.map((item) => item.id), path).not.toContain(ids.key);
    }
    expect(await snapshot()).toEqual(before);
    expect((await callApi('/v1/users/me', { key: alice.key })).status).toBe(200);
  });
});
