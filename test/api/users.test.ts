import { generateKeyPair, exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { signEntraToken } from '../support/fakeEntra.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { callApi } from '../support/http.js';

const db = useApiDatabaseClient();

async function usersWithSubject(subject: string): Promise<number> {
  const { rows } = await db.query('select count(*)::int as n from users where external_subject = $1', [subject]);
  return rows[0].n as number;
}

describe('POST /v1/users with an Entra token', () => {
  it('creates the user once (201), then returns it (200), and the token then works for the API', async () => {
    const subject = `oid-${crypto.randomUUID()}`;
    const token = await signEntraToken({ subject, claims: { name: 'Grace Hopper', email: 'grace@example.com' } });
    const created = await callApi('/v1/users', { method: 'POST', bearer: token });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.any(String),
      display_name: 'Grace Hopper',
      email: 'grace@example.com',
      created_at: expect.any(String),
    });
    const again = await callApi('/v1/users', { method: 'POST', bearer: token, body: { display_name: 'Other' } });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(created.json);
    const me = await callApi('/v1/users/me', { bearer: token });
    expect(me.status).toBe(200);
    expect(me.json).toEqual(created.json);
    expect(await usersWithSubject(subject)).toBe(1);
  });

  it('prefers the oid claim and takes display name and email from the body', async () => {
    const oid = `oid-${crypto.randomUUID()}`;
    const token = await signEntraToken({ claims: { oid } });
    const created = await callApi('/v1/users', {
      method: 'POST',
      bearer: token,
      body: { display_name: 'Ada', email: 'ada@example.com' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ display_name: 'Ada', email: 'ada@example.com' });
    expect(await usersWithSubject(oid)).toBe(1);
  });

  it('is idempotent under concurrent calls: one row, one 201', async () => {
    const subject = `oid-${crypto.randomUUID()}`;
    const token = await signEntraToken({ subject });
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => callApi('/v1/users', { method: 'POST', bearer: token })),
    );
    expect(responses.map((response) => response.status).sort()).toEqual([...Array(11).fill(200), 201]);
    expect(new Set(responses.map((response) => (response.json as { id: string }).id)).size).toBe(1);
    expect(await usersWithSubject(subject)).toBe(1);
  });

  it('refuses an API key: registration needs a token', async () => {
    const response = await callApi('/v1/users', { method: 'POST' });
    expect(response.status).toBe(401);
    expect((response.json as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('answers a valid token of an unregistered user with 401 elsewhere', async () => {
    const response = await callApi('/v1/users/me', { bearer: await signEntraToken() });
    expect(response.status).toBe(401);
  });

  it('refuses invalid values with 422 and creates nothing', async () => {
    const subject = `oid-${crypto.randomUUID()}`;
    const response = await callApi('/v1/users', {
      method: 'POST',
      bearer: await signEntraToken({ subject }),
      body: { email: 'not an email' },
    });
    expect(response.status).toBe(422);
    expect(await usersWithSubject(subject)).toBe(0);
  });
});

describe('Entra tokens that must fail, all with the same 401', () => {
  const cases: Array<[string, () => Promise<string>]> = [
    ['a wrong issuer', () => signEntraToken({ issuer: 'https://login.example.com/other/v2.0' })],
    ['a wrong audience', () => signEntraToken({ audience: 'api://someone-else' })],
    ['an expired token', () => signEntraToken({ expiresIn: -3600 })],
    [
      'a bad signature',
      async () => {
        const { privateKey } = await generateKeyPair('RS256', { extractable: true });
        return signEntraToken({ privateJwk: await exportJWK(privateKey) });
      },
    ],
    [
      'alg none',
      async () => {
        const valid = await signEntraToken();
        const [, payload] = valid.split('.');
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        return `${header}.${payload}.`;
      },
    ],
    ['garbage', async () => 'not.a.jwt'],
  ];

  it.each(cases)('%s', async (_name, makeToken) => {
    const token = await makeToken();
    const registration = await callApi('/v1/users', { method: 'POST', bearer: token });
    expect(registration.status).toBe(401);
    expect(registration.json).toEqual({
      error: { code: 'unauthorized', message: expect.any(String) },
    });
    const me = await callApi('/v1/users/me', { bearer: token });
    expect(me.status).toBe(401);
  });
});
