import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../shared/db/database.js';
import { migrationNames } from '../../shared/db/migrator.js';
import type { Database } from '../../shared/db/schema.js';
import { ensureAppPrincipal, migrateAndGrant } from '../../scripts/releaseDatabase.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/*
 * The database step of a deployment (infra/hooks/predeploy.mjs), against the real PostgreSQL: the app's role, the
 * migrations, the grants. Azure's pgaadauth_create_principal_with_oid exists only on Azure Database for PostgreSQL,
 * so the test database gets a stand-in with its signature that does what it does to the catalog: a login role,
 * with no other attribute (the Entra mapping itself is Azure's). Then the test logs in as that role and finds out
 * what it may do.
 */

let database: TestDatabase;
let admin: Kysely<Database>;
const roleName = `func-tracepipe-${randomUUID().slice(0, 8)}`;
const databaseName = () => new URL(database.url).pathname.slice(1);

async function asApp<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(database.url);
  url.username = roleName;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  if (database.kind !== 'postgres') return;
  admin = createDatabase({ connectionString: database.url, poolMax: 1 });
  await sql`
    create function pgaadauth_create_principal_with_oid(role_name text, object_id text, object_type text, is_admin boolean, is_mfa boolean)
    returns text language plpgsql as $$
    begin
      if is_admin then raise exception 'the stand-in makes no administrators'; end if;
      execute format('create role %I login', role_name);
      return format('Created role for "%s"', role_name);
    end $$`.execute(admin);
});

afterAll(async () => {
  if (admin) {
    await admin.destroy();
    await database.drop();
    const client = new pg.Client({ connectionString: database.url.replace(/\/[^/]*$/, '/postgres') });
    await client.connect();
    await client.query(`drop role if exists "${roleName}"`);
    await client.end();
  } else {
    await database?.drop();
  }
});

describe('the database step of a deployment', () => {
  it('makes the app a login role with the Entra principal function, once, and not an administrator', async (context) => {
    if (database.kind !== 'postgres') context.skip();
    expect(await ensureAppPrincipal(admin, { roleName, objectId: randomUUID() })).toBe(true);
    expect(await ensureAppPrincipal(admin, { roleName, objectId: randomUUID() })).toBe(false);
    const role = await sql<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolcanlogin: boolean; memberships: number }>`
      select rolsuper, rolcreaterole, rolcreatedb, rolcanlogin,
             (select count(*)::int from pg_auth_members m where m.member = r.oid) as memberships
      from pg_roles r where rolname = ${roleName}`.execute(admin);
    expect(role.rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true, memberships: 0 });
    await expect(ensureAppPrincipal(admin, { roleName: 'x"; drop table users; --', objectId: randomUUID() })).rejects.toThrow(/not a role name/);
  });

  it('migrates, then lets the app read and write every table and nothing more', async (context) => {
    if (database.kind !== 'postgres') context.skip();
    expect(await migrateAndGrant(admin, databaseName(), roleName)).toEqual(migrationNames());
    await asApp(async (client) => {
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from sessions');
      expect(rows[0]?.n).toBe(0);
      // Each statement needs its privilege, whatever it touches.
      await client.query('insert into sessions select * from sessions where false');
      await client.query('update sessions set description = description where false');
      await client.query('delete from sessions where false');
      await expect(client.query('create table intruder (id int)')).rejects.toThrow(/permission denied/);
      await expect(client.query('drop table sessions')).rejects.toThrow(/must be owner/);
      await expect(client.query('alter table sessions add column x int')).rejects.toThrow(/must be owner/);
    });
  });

  it('runs again with nothing to migrate, and a table the administrator adds later is the app\'s to use too', async (context) => {
    if (database.kind !== 'postgres') context.skip();
    expect(await migrateAndGrant(admin, databaseName(), roleName)).toEqual([]);
    await sql`create table later_feature (id bigserial primary key, note text)`.execute(admin);
    await asApp(async (client) => {
      await client.query("insert into later_feature (note) values ('x')");
      expect((await client.query('select note from later_feature')).rows).toEqual([{ note: 'x' }]);
    });
  });

  it('fails loudly when a migration fails, and leaves nothing half applied', async (context) => {
    if (database.kind !== 'postgres') context.skip();
    const fresh = await createTestDatabase();
    const db = createDatabase({ connectionString: fresh.url, poolMax: 1 });
    try {
      // A table in the way of the first migration: its run fails, and no migration is recorded.
      await sql`create table users (id int)`.execute(db);
      await expect(migrateAndGrant(db, new URL(fresh.url).pathname.slice(1), roleName)).rejects.toThrow();
      const recorded = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name = 'kysely_migration'`.execute(db);
      const names = recorded.rows[0]?.n ? (await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows : [];
      expect(names).toEqual([]);
    } finally {
      await db.destroy();
      await fresh.drop();
    }
  });
});
