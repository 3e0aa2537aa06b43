import { request as httpRequest } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { callApi } from '../support/http.js';
import { waitForFreshWindow } from '../support/rateLimitWindow.js';
import { createTestUser } from '../support/users.js';

const db = useApiDatabaseClient();

/** A request with raw header values, as fetch would refuse to send some of them. */
function rawGet(path: string, headers: Array<[string, string | Buffer]>): Promise<{ status: number; body: string }> {
  const url = new URL(path, inject('apiUrl'));
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'GET', setHost: true });
    const byName = new Map<string, string[]>();
    for (const [name, value] of headers) {
      const text: string = typeof value === 'string' ? value : value.toString('latin1');
      byName.set(name, [...(byName.get(name) ?? []), text]);
    }
    // Repeated headers go out as separate lines, as a confused client would send them.
    for (const [name, values] of byName) request.setHeader(name, values.length === 1 ? (values[0] as string) : values);
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('header fuzz: every malformed credential is the same 401', () => {
  it.each<[string, Array<[string, string | Buffer]>]>([
    ['an empty key', [['X-API-Key', '']]],
    ['a very long key', [['X-API-Key', 'tp_live_sk_' + 'a'.repeat(10_000)]]],
    ['non-ASCII bytes', [['X-API-Key', Buffer.from('tp_live_sk_ÿü€ñ', 'latin1')]]],
    ['two keys', [['X-API-Key', inject('apiKey')], ['X-API-Key', inject('apiKey')]]],
    ['a Bearer with nothing', [['Authorization', 'Bearer ']]],
    ['Basic auth', [['Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`]]],
    ['a key in a Bearer with junk after it', [['Authorization', `Bearer ${inject('apiKey')} extra`]]],
  ])('%s', async (_name, headers) => {
    const response = await rawGet('/v1/users/me', headers);
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'unauthorized', message: 'A valid API key is required (X-API-Key header).' },
    });
  });

  it('accepts the key as a Bearer token too (agents send it that way)', async () => {
    const response = await callApi('/v1/users/me', { key: null, headers: { Authorization: `Bearer ${inject('apiKey')}` } });
    expect(response.status).toBe(200);
  });
});

describe('rate limits', () => {
  it('lets exactly 100 of 150 concurrent reads on one key through in a window, with headers on each', async () => {
    const user = await createTestUser();
    await waitForFreshWindow(db);
    const responses = await Promise.all(
      Array.from({ length: 150 }, () => callApi('/v1/users/me', { key: user.key })),
    );
    const ok = responses.filter((response) => response.status === 200);
    const limited = responses.filter((response) => response.status === 429);
    expect(ok).toHaveLength(100);
    expect(limited).toHaveLength(50);
    for (const response of responses) {
      expect(response.headers.get('x-ratelimit-limit')).toBe('100');
      expect(Number(response.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 5);
    }
    const remaining = ok.map((response) => Number(response.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const response of limited) {
      expect(response.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect((response.json as { error: { code: string } }).error.code).toBe('rate_limited');
    }
    const { rows } = await db.query(
      "select sum(count)::int as n from rate_limit_counters where subject_id = $1 and bucket = 'default'",
      [user.apiKeyId],
    );
    expect(rows[0].n).toBe(150);
  });

  it('counts each key on its own', async () => {
    const first = await createTestUser();
    const second = await createTestUser();
    const a = await callApi('/v1/users/me', { key: first.key });
    const b = await callApi('/v1/users/me', { key: second.key });
    expect(a.headers.get('x-ratelimit-remaining')).toBe('99');
    expect(b.headers.get('x-ratelimit-remaining')).toBe('99');
  });
});

describe('last_used_at', () => {
  it('is written on use, and at most once a minute', async () => {
    const user = await createTestUser();
    const lastUsed = async () =>
      (await db.query('select last_used_at from api_keys where id = $1', [user.apiKeyId])).rows[0].last_used_at as Date | null;
    expect(await lastUsed()).toBeNull();
    await callApi('/v1/users/me', { key: user.key });
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await callApi('/v1/users/me', { key: user.key });
    expect(await lastUsed()).toEqual(first);
    await db.query("update api_keys set last_used_at = now() - interval '2 minutes' where id = $1", [user.apiKeyId]);
    await callApi('/v1/users/me', { key: user.key });
    expect(((await lastUsed()) as Date).getTime()).toBeGreaterThan((first as Date).getTime() - 1000);
  });
});
