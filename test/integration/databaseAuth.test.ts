import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { createDatabase } from '../../shared/db/database.js';
import { createEntraPasswordProvider, POSTGRES_ENTRA_SCOPE } from '../../shared/db/entraPassword.js';
import { createDatabaseFromConfig } from '../../shared/db/index.js';
import type { Database } from '../../shared/db/schema.js';

/*
 * The production database path (DATABASE_AUTH=entra): a Microsoft Entra access token as the PostgreSQL password.
 * The credential is faked at its interface (TokenCredential.getToken), and a fake PostgreSQL server on a local
 * port records what node-postgres sends when it logs in (protocol 3.0, cleartext password request).
 */

const MINUTE = 60_000;

/** A TokenCredential that hands out token-1, token-2, ... each valid for an hour from the fake clock's now. */
function fakeCredential(clock: { now: number }) {
  const scopes: string[] = [];
  let failNext = false;
  const credential: TokenCredential = {
    async getToken(scope: string | string[]): Promise<AccessToken | null> {
      scopes.push(String(scope));
      if (failNext) {
        failNext = false;
        throw new Error('Entra is unreachable');
      }
      return { token: `token-${scopes.length}`, expiresOnTimestamp: clock.now + 60 * MINUTE };
    },
  };
  return {
    credential,
    scopes,
    failOnce: () => {
      failNext = true;
    },
  };
}

interface Login {
  user: string | undefined;
  database: string | undefined;
  password: string;
  tls: boolean;
}

/** Just enough of a PostgreSQL server: asks for a cleartext password, records it, then accepts or refuses. */
class FakePostgres {
  readonly logins: Login[] = [];
  private server: Server | undefined;
  accept = true;

  constructor(private readonly tlsIdentity?: { key: string; cert: string }) {}

  async start(): Promise<number> {
    this.server = createServer((socket) => this.serve(socket, false));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return (this.server?.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(socket: Socket | TLSSocket, tls: boolean): void {
    let buffer = Buffer.alloc(0);
    let started = false;
    let startup: Record<string, string> = {};
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const body = buffer.subarray(8, length);
          buffer = buffer.subarray(length);
          if (code === 80877103) {
            // SSLRequest: 'S' and a TLS handshake when this server has a certificate, else 'N'.
            if (!this.tlsIdentity) {
              socket.write('N');
              continue;
            }
            socket.off('data', onData);
            socket.write('S');
            const secure = new TLSSocket(socket, { isServer: true, ...this.tlsIdentity });
            this.serve(secure, true);
            return;
          }
          started = true;
          const parts = body.toString('utf8').split('\0');
          startup = {};
          for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) startup[parts[i] as string] = parts[i + 1] as string;
          socket.write(message('R', int32(3))); // AuthenticationCleartextPassword
          continue;
        }
        if (buffer.length < 5) return;
        const type = String.fromCharCode(buffer[0] as number);
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) return;
        const body = buffer.subarray(5, 1 + length);
        buffer = buffer.subarray(1 + length);
        if (type === 'p') {
          this.logins.push({
            user: startup.user,
            database: startup.database,
            password: body.toString('utf8').replace(/\0$/, ''),
            tls,
          });
          if (!this.accept) {
            socket.end(message('E', errorFields('FATAL', '28P01', 'password authentication failed')));
            return;
          }
          socket.write(Buffer.concat([message('R', int32(0)), readyForQuery()]));
        } else if (type === 'Q') {
          // One row, one int4 column named "one": the answer to `select 1 as one`.
          const field = Buffer.concat([cstring('one'), int32(0), int16(0), int32(23), int16(4), int32(-1), int16(0)]);
          socket.write(
            Buffer.concat([
              message('T', Buffer.concat([int16(1), field])),
              message('D', Buffer.concat([int16(1), int32(1), Buffer.from('1')])),
              message('C', cstring('SELECT 1')),
              readyForQuery(),
            ]),
          );
        } else if (type === 'X') {
          socket.end();
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  }
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}
function int16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value);
  return buffer;
}
function cstring(value: string): Buffer {
  return Buffer.from(`${value}\0`, 'utf8');
}
function message(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}
function readyForQuery(): Buffer {
  return message('Z', Buffer.from('I'));
}
function errorFields(severity: string, code: string, text: string): Buffer {
  return Buffer.concat([Buffer.from('S'), cstring(severity), Buffer.from('C'), cstring(code), Buffer.from('M'), cstring(text), Buffer.from([0])]);
}

async function selectOne(db: Kysely<Database>): Promise<unknown> {
  const result = await sql<{ one: number }>`select 1 as one`.execute(db);
  return result.rows[0]?.one;
}

const entraSettings = {
  AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net/',
  API_KEY_HMAC_SECRET: 'x'.repeat(32),
  DATABASE_AUTH: 'entra',
};

function problemsOf(env: Record<string, string | undefined>): Array<{ setting: string; message: string }> {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('the Entra token password provider', () => {
  it('asks the credential for a PostgreSQL token and answers with the token', async () => {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const entra = fakeCredential(clock);
    const password = createEntraPasswordProvider(entra.credential, { now: () => clock.now });
    expect(await password()).toBe('token-1');
    expect(entra.scopes).toEqual([POSTGRES_ENTRA_SCOPE]);
    expect(POSTGRES_ENTRA_SCOPE).toBe('https://ossrdbms-aad.database.windows.net/.default');
  });

  it('keeps the token until five minutes before it expires, then takes a new one', async () => {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const entra = fakeCredential(clock);
    const password = createEntraPasswordProvider(entra.credential, { now: () => clock.now });
    expect(await password()).toBe('token-1');
    clock.now += 54 * MINUTE;
    expect(await password()).toBe('token-1');
    expect(entra.scopes).toHaveLength(1);
    clock.now += 2 * MINUTE; // 4 minutes left
    expect(await password()).toBe('token-2');
    expect(await password()).toBe('token-2');
    expect(entra.scopes).toHaveLength(2);
  });

  it('refreshes earlier when the credential says so (refreshAfterTimestamp)', async () => {
    let now = 0;
    let calls = 0;
    const password = createEntraPasswordProvider(
      {
        getToken: async () => {
          calls += 1;
          return { token: `t${calls}`, expiresOnTimestamp: now + 60 * MINUTE, refreshAfterTimestamp: now + 30 * MINUTE };
        },
      },
      { now: () => now },
    );
    expect(await password()).toBe('t1');
    now += 31 * MINUTE;
    expect(await password()).toBe('t2');
  });

  it('asks once for all the connections that open at the same time', async () => {
    const clock = { now: 0 };
    const entra = fakeCredential(clock);
    const password = createEntraPasswordProvider(entra.credential, { now: () => clock.now });
    expect(await Promise.all([password(), password(), password()])).toEqual(['token-1', 'token-1', 'token-1']);
    expect(entra.scopes).toHaveLength(1);
  });

  it('uses the kept token while it is valid if a refresh fails, and fails once it has expired', async () => {
    const clock = { now: 0 };
    const entra = fakeCredential(clock);
    const password = createEntraPasswordProvider(entra.credential, { now: () => clock.now });
    expect(await password()).toBe('token-1');
    clock.now += 57 * MINUTE;
    entra.failOnce();
    expect(await password()).toBe('token-1');
    expect(await password()).toBe('token-3');

    const expired = { now: 0 };
    const later = fakeCredential(expired);
    const password2 = createEntraPasswordProvider(later.credential, { now: () => expired.now });
    await password2();
    expired.now += 61 * MINUTE;
    later.failOnce();
    await expect(password2()).rejects.toThrow('Entra is unreachable');
  });

  it('fails when the credential returns no token', async () => {
    const password = createEntraPasswordProvider({ getToken: async () => null });
    await expect(password()).rejects.toThrow(/no access token/);
  });
});

describe('DATABASE_AUTH=entra in the configuration', () => {
  const url = 'postgres://func-tracepipe@pg.postgres.database.azure.com:5432/tracepipe?sslmode=verify-full';

  it('reads a password-less URL with TLS verified as Entra authentication', () => {
    expect(loadConfig({ ...entraSettings, DATABASE_URL: url }).database).toEqual({ url, poolMax: 10, auth: 'entra' });
    expect(loadConfig({ ...entraSettings, DATABASE_AUTH: 'password', DATABASE_URL: url }).database.auth).toBeUndefined();
  });

  it('names DATABASE_URL when it has no role, carries a password, or does not verify TLS', () => {
    for (const [bad, reason] of [
      ['postgres://pg.postgres.database.azure.com:5432/tracepipe?sslmode=verify-full', /must name the database role/],
      ['postgres://func:secret@pg.postgres.database.azure.com:5432/tracepipe?sslmode=verify-full', /must not carry a password/],
      ['postgres://func@pg.postgres.database.azure.com:5432/tracepipe', /sslmode=verify-full/],
      ['postgres://func@pg.postgres.database.azure.com:5432/tracepipe?sslmode=disable', /sslmode=verify-full/],
    ] as const) {
      const problems = problemsOf({ ...entraSettings, DATABASE_URL: bad });
      expect(problems.map((problem) => problem.setting), bad).toEqual(['DATABASE_URL']);
      expect(problems[0]?.message, bad).toMatch(reason);
    }
  });

  it('names DATABASE_AUTH when it is neither password nor entra', () => {
    expect(problemsOf({ ...entraSettings, DATABASE_AUTH: 'token', DATABASE_URL: url })).toEqual([
      { setting: 'DATABASE_AUTH', message: 'must be password or entra' },
    ]);
  });
});

describe('connecting with an Entra token as the password', () => {
  const postgres = new FakePostgres();
  let port = 0;

  beforeAll(async () => {
    port = await postgres.start();
  });
  afterAll(async () => {
    await postgres.stop();
  });

  it('logs in as the URL role with the token as password, and runs queries', async () => {
    const clock = { now: 0 };
    const entra = fakeCredential(clock);
    const db = createDatabase({
      connectionString: `postgres://func-tracepipe@127.0.0.1:${port}/tracepipe`,
      password: createEntraPasswordProvider(entra.credential, { now: () => clock.now }),
    });
    try {
      expect(await selectOne(db)).toBe(1);
      expect(postgres.logins.at(-1)).toEqual({ user: 'func-tracepipe', database: 'tracepipe', password: 'token-1', tls: false });
    } finally {
      await db.destroy();
    }
  });

  it('gives each new connection the kept token, and a new token once the old one nears expiry', async () => {
    const clock = { now: 0 };
    const entra = fakeCredential(clock);
    postgres.accept = false; // every query then opens a new connection: one login each
    const db = createDatabase({
      connectionString: `postgres://func-tracepipe@127.0.0.1:${port}/tracepipe`,
      password: createEntraPasswordProvider(entra.credential, { now: () => clock.now }),
    });
    const before = postgres.logins.length;
    try {
      await expect(selectOne(db)).rejects.toThrow(/password authentication failed/);
      clock.now += 30 * MINUTE;
      await expect(selectOne(db)).rejects.toThrow(/password authentication failed/);
      clock.now += 26 * MINUTE;
      await expect(selectOne(db)).rejects.toThrow(/password authentication failed/);
      expect(postgres.logins.slice(before).map((login) => login.password)).toEqual(['token-1', 'token-1', 'token-2']);
      expect(entra.scopes).toHaveLength(2);
    } finally {
      postgres.accept = true;
      await db.destroy();
    }
  });
});

const haveOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!haveOpenssl)('the configured database in Entra mode', () => {
  let dir = '';
  let tlsPostgres: FakePostgres;
  let plainPostgres: FakePostgres;
  let tlsPort = 0;
  let plainPort = 0;

  beforeAll(async () => {
    // A self-signed certificate for localhost, passed to the client with sslrootcert as a private CA would be.
    dir = mkdtempSync(join(tmpdir(), 'tracepipe-pg-tls-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    tlsPostgres = new FakePostgres({ key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') });
    plainPostgres = new FakePostgres();
    tlsPort = await tlsPostgres.start();
    plainPort = await plainPostgres.start();
  });
  afterAll(async () => {
    await tlsPostgres.stop();
    await plainPostgres.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the credential\'s token over TLS to the server the URL names', async () => {
    const clock = { now: Date.now() };
    const entra = fakeCredential(clock);
    const config = loadConfig({
      ...entraSettings,
      DATABASE_URL: `postgres://func-tracepipe@localhost:${tlsPort}/tracepipe?sslmode=verify-full&sslrootcert=${encodeURIComponent(join(dir, 'cert.pem'))}`,
    });
    const db = createDatabaseFromConfig(config.database, () => entra.credential);
    try {
      expect(await selectOne(db)).toBe(1);
      expect(tlsPostgres.logins).toEqual([{ user: 'func-tracepipe', database: 'tracepipe', password: 'token-1', tls: true }]);
      expect(entra.scopes).toEqual([POSTGRES_ENTRA_SCOPE]);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a server that does not speak TLS before any token is sent', async () => {
    const clock = { now: Date.now() };
    const entra = fakeCredential(clock);
    const config = loadConfig({
      ...entraSettings,
      DATABASE_URL: `postgres://func-tracepipe@localhost:${plainPort}/tracepipe?sslmode=verify-full`,
    });
    const db = createDatabaseFromConfig(config.database, () => entra.credential);
    try {
      await expect(selectOne(db)).rejects.toThrow(/does not support SSL/);
      expect(plainPostgres.logins).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const clock = { now: Date.now() };
    const entra = fakeCredential(clock);
    const config = loadConfig({
      ...entraSettings,
      DATABASE_URL: `postgres://func-tracepipe@localhost:${tlsPort}/tracepipe?sslmode=verify-full`,
    });
    const before = tlsPostgres.logins.length;
    const db = createDatabaseFromConfig(config.database, () => entra.credential);
    try {
      await expect(selectOne(db)).rejects.toThrow(/self-signed certificate/);
      expect(tlsPostgres.logins.length).toBe(before);
    } finally {
      await db.destroy();
    }
  });
});
