import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/apiProcess.js';

/*
 * The deployment rule for migrations (README, "Deploying to Azure"): they run before the new code is swapped in, so
 * the release still serving must keep working on the new schema. A migration's `up` adds; it does not drop, rename,
 * retype or tighten what the previous release uses. That takes two releases, and the second one's migration says
 * so on the line, with `// contract: <why the previous release no longer uses it>`.
 * The rule holds from migration 0011 on (the ones before it shipped before deployments ran migrations first).
 */

const FIRST_RULED = 11;
const DESTRUCTIVE = [
  /\bdrop\s+(table|column|type|schema|view)\b/i,
  /\brename\s+(to|column)\b/i,
  /\balter\s+column\s+\S+\s+(set\s+data\s+)?type\b/i,
  /\bset\s+not\s+null\b/i,
  /\.(dropTable|dropColumn|renameColumn|renameTo|dropType|dropView|dropSchema)\(/,
  /\.setNotNull\(/,
];

/** The statements of a migration's `up` that take something away, unless marked as the contract step. */
function backwardIncompatibleLines(source: string): string[] {
  const up = /export\s+async\s+function\s+up\s*\([^)]*\)[^{]*\{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
  return up
    .split('\n')
    .filter((line) => !/\/\/\s*contract:\s*\S/.test(line))
    .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
    .filter((line) => DESTRUCTIVE.some((pattern) => pattern.test(line)))
    .map((line) => line.trim());
}

describe('backward-compatible migrations', () => {
  it('finds what takes something away in an up, and lets the marked contract step through', () => {
    const sample = [
      "import { sql, type Kysely } from 'kysely';",
      'export async function up(db: Kysely<any>): Promise<void> {',
      "  await db.schema.alterTable('sessions').addColumn('note', 'text').execute();",
      "  await db.schema.alterTable('sessions').dropColumn('legacy').execute();",
      '  await sql`alter table examples rename column a to b`.execute(db);',
      '  await sql`alter table examples alter column c type bigint`.execute(db);',
      '  await sql`alter table examples alter column d set not null`.execute(db);',
      "  await db.schema.dropTable('old_thing').execute(); // contract: nothing reads old_thing since 0011",
      '}',
      'export async function down(db: Kysely<any>): Promise<void> {',
      "  await db.schema.alterTable('sessions').dropColumn('note').execute();",
      '}',
    ].join('\n');
    expect(backwardIncompatibleLines(sample)).toEqual([
      "await db.schema.alterTable('sessions').dropColumn('legacy').execute();",
      'await sql`alter table examples rename column a to b`.execute(db);',
      'await sql`alter table examples alter column c type bigint`.execute(db);',
      'await sql`alter table examples alter column d set not null`.execute(db);',
    ]);
  });

  it(`holds for every migration from ${String(FIRST_RULED).padStart(4, '0')} on`, () => {
    const dir = join(PROJECT_ROOT, 'migrations');
    const ruled = readdirSync(dir).filter((name) => /^\d{4}_.*\.ts$/.test(name) && Number(name.slice(0, 4)) >= FIRST_RULED);
    const offending = ruled.flatMap((name) => backwardIncompatibleLines(readFileSync(join(dir, name), 'utf8')).map((line) => `${name}: ${line}`));
    expect(offending).toEqual([]);
    // The rule's start is after every migration that predates it.
    const before = readdirSync(dir).filter((name) => /^\d{4}_/.test(name) && Number(name.slice(0, 4)) < FIRST_RULED);
    expect(before.length).toBeGreaterThan(0);
  });
});
