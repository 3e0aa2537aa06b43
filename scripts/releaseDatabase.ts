import { sql, type Kysely } from 'kysely';
import type { Database } from '../shared/db/schema.js';
import { migrateToLatest } from '../shared/db/migrator.js';

/*
 * What a deployment does to the database before the new code goes live (infra/hooks/predeploy.mjs), as a Microsoft
 * Entra administrator of the server (the deploying principal):
 * 1. The app's own role, made with Azure's Entra principal function (in the `postgres` database, where Azure
 *    installs it): a login role mapped to the Function App's managed identity by object id, not an administrator
 *    (https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users#create-a-role-using-microsoft-entra-object-identifier).
 *    Made once; a role of that name that exists is kept.
 * 2. The migrations, as that administrator, who owns the tables. They must be backward compatible: the code that is
 *    live while they run is the previous release (README, "Deploying to Azure").
 * 3. The app's grants: connect, use the schema, read and write rows, use sequences and functions; no DDL, no
 *    ownership. Again on every deployment, for the tables new migrations add; default privileges cover tables the
 *    same administrator creates later.
 * Any failure throws: the hook exits non-zero and azd stops before the code is deployed.
 */

export interface AppPrincipal {
  /** The role name: the Function App's name (DATABASE_URL's user). */
  roleName: string;
  /** The app's system-assigned identity (its service principal's object id). */
  objectId: string;
}

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$/;
const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** In the `postgres` database: the app's role, if it does not exist yet. Answers whether it was made now. */
export async function ensureAppPrincipal(postgresDb: Kysely<Database>, app: AppPrincipal): Promise<boolean> {
  if (!IDENTIFIER.test(app.roleName)) throw new Error(`"${app.roleName}" is not a role name this deployment makes.`);
  if (!OBJECT_ID.test(app.objectId)) throw new Error(`"${app.objectId}" is not an object id.`);
  const existing = await sql<{ rolname: string }>`select rolname from pg_roles where rolname = ${app.roleName}`.execute(postgresDb);
  if (existing.rows.length > 0) return false;
  // isAdmin false: not a member of azure_pg_admin; isMfa false: a managed identity has no MFA.
  await sql`select * from pgaadauth_create_principal_with_oid(${app.roleName}, ${app.objectId}, 'service', false, false)`.execute(postgresDb);
  return true;
}

/** In the app's database: the migrations, then the app's grants. Answers the migrations applied. */
export async function migrateAndGrant(db: Kysely<Database>, databaseName: string, appRole: string): Promise<string[]> {
  const applied = await migrateToLatest(db);
  const role = sql.id(appRole);
  await sql`grant connect on database ${sql.id(databaseName)} to ${role}`.execute(db);
  await sql`grant usage on schema public to ${role}`.execute(db);
  await sql`grant select, insert, update, delete on all tables in schema public to ${role}`.execute(db);
  await sql`grant usage, select, update on all sequences in schema public to ${role}`.execute(db);
  await sql`grant execute on all functions in schema public to ${role}`.execute(db);
  await sql`alter default privileges in schema public grant select, insert, update, delete on tables to ${role}`.execute(db);
  await sql`alter default privileges in schema public grant usage, select, update on sequences to ${role}`.execute(db);
  return applied;
}
