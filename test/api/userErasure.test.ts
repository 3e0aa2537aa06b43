import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { GPT_4O, TRAINING_MESSAGES } from '../support/examples.js';
import { signEntraToken } from '../support/fakeEntra.js';
import { callApi } from '../support/http.js';
import { blobsOf, eventually, postSessionMultipart, uploadAndIndex, waitUntilIndexed, type SessionBody } from '../support/sessions.js';
import type { TestUser } from '../support/users.js';

/**
 * DELETE /v1/users/me: every file and row of the account erased or anonymised, what accounting needs kept, and an
 * erasure killed half way (SIGKILL, in a process of its own) finished by the retry.
 */

const db = useApiDatabaseClient();
const sample = (name: string) => readFileSync(join(PROJECT_ROOT, 'test/fixtures/samples', name));
let blobs: BlobServiceClient;

beforeAll(() => {
  blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
});

interface Account {
  token: string;
  userId: string;
  user: TestUser;
  sessionIds: string[];
  exampleId: string;
  datasetId: string;
}

/** A storefront user with a key, two indexed sessions (a bundle among them), an example with messages, usage. */
async function accountWithData(): Promise<Account> {
  const token = await signEntraToken({ claims: { name: 'Ada Lovelace', email: 'ada@example.com' } });
  const registered = await callApi('/v1/users', { method: 'POST', bearer: token });
  expect(registered.status, registered.text).toBe(201);
  const userId = (registered.json as { id: string }).id;
  const created = await callApi('/v1/api-keys', { method: 'POST', bearer: token, body: { name: 'laptop' } });
  expect(created.status, created.text).toBe(201);
  const user: TestUser = { userId, apiKeyId: (created.json as { id: string }).id, key: (created.json as { key: string }).key };

  const recorder = await uploadAndIndex(sample('recorder-session.jsonl'), { description: 'Ada archives a thread' }, user);
  const multipart = await postSessionMultipart(user, [
    { name: 'suite_id', value: GMAIL_SUITE_ID },
    { name: 'input_events', filename: 'recorder-bundle.zip', content: sample('recorder-bundle.zip') },
  ]);
  const bundle = await waitUntilIndexed(user, (multipart.json as SessionBody).id);
  const example = await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: recorder.id, model_id: GPT_4O } });
  expect(example.status, example.text).toBe(201);
  const exampleId = (example.json as { id: string }).id;
  const messages = `${TRAINING_MESSAGES.map((line) => JSON.stringify(line)).join('\n')}\n`;
  await blobs.getContainerClient('examples').getBlockBlobClient(`${exampleId}/messages.jsonl`).upload(messages, messages.length);
  // Billed already: usage and an invoice, which accounting keeps.
  await db.query(
    `insert into token_usage (user_id, example_id, suite_id, model_id, input_tokens, output_tokens) values ($1, $2, $3, $4, 1200, 300)`,
    [userId, exampleId, GMAIL_SUITE_ID, GPT_4O],
  );
  await db.query(
    `insert into invoices (user_id, stripe_invoice_id, period_start, period_end, tokens_consumed, total_amount, currency, status)
     values ($1, $2, now() - interval '30 days', now(), 1500, 30, 'usd', 'paid')`,
    [userId, `in_${userId.slice(0, 8)}`],
  );
  // A ready dataset with a file (as a build leaves it: the dataset builder is tested on its own).
  const dataset = await db.query<{ id: string }>(
    `insert into datasets (user_id, name, format, status, seed, matched_count, duplicate_count, skipped_count, train_count,
       validation_count, train_bytes, validation_bytes, train_sha256, validation_sha256, lint, completed_at)
     values ($1, 'ada-train', 'openai', 'ready', 7, 1, 0, 0, 1, 0, $2, 0, $3, $4, '{}', now()) returning id`,
    [userId, messages.length, 'a'.repeat(64), 'b'.repeat(64)],
  );
  const datasetId = dataset.rows[0]!.id;
  const endpoint = await callApi('/v1/webhook-endpoints', {
    method: 'POST',
    key: user.key,
    body: { url: 'http://127.0.0.1:9/hooks', events: ['session.ready'] },
  });
  expect(endpoint.status, endpoint.text).toBe(201);
  await blobs.getContainerClient('datasets').getBlockBlobClient(`${datasetId}/train.jsonl`).upload(messages, messages.length);
  return { token, userId, user, sessionIds: [recorder.id, bundle.id], exampleId, datasetId };
}

async function filesOf(account: Account): Promise<string[]> {
  const names: string[] = [];
  for (const id of [...account.sessionIds, account.exampleId, account.datasetId]) names.push(...(await blobsOf(blobs, id)));
  return names;
}

/** Runs the erasure in a child process that kills itself right after `step`. */
function eraseAndCrashAfter(userId: string, step: string): Promise<{ signal: NodeJS.Signals | null; output: string }> {
  const child = spawn(
    process.execPath,
    [resolve(PROJECT_ROOT, 'test/support/eraseUntilStep.mjs'), inject('databaseUrl'), inject('storageConnectionString'), userId, step],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolveExit) => child.once('exit', (_code, signal) => resolveExit({ signal, output })));
}

const erase = (account: Account, confirm: string = account.userId) =>
  callApi('/v1/users/me', { method: 'DELETE', bearer: account.token, body: { confirm } });

describe('DELETE /v1/users/me', () => {
  it('refuses an API key, a missing or wrong confirm, erasing nothing', async () => {
    const account = await accountWithData();
    const before = await filesOf(account);
    expect((await callApi('/v1/users/me', { method: 'DELETE', key: account.user.key, body: { confirm: account.userId } })).status).toBe(401);
    expect((await callApi('/v1/users/me', { method: 'DELETE', bearer: account.token, body: {} })).status).toBe(400);
    const wrong = await erase(account, '00000000-0000-4000-8000-000000000001');
    expect(wrong.status).toBe(422);
    expect(wrong.json).toMatchObject({ error: { code: 'validation_error', details: { fields: [{ field: 'confirm' }] } } });
    expect(await filesOf(account)).toEqual(before);
    expect((await callApi('/v1/users/me', { key: account.user.key })).status).toBe(200);
    const { rows } = await db.query('select 1 from user_erasures where user_id = $1', [account.userId]);
    expect(rows).toHaveLength(0);
  });

  it('finishes an erasure killed half way: the retry erases the rest and keeps what accounting needs', async () => {
    const account = await accountWithData();
    expect((await filesOf(account)).length).toBeGreaterThan(5);

    const crashed = await eraseAndCrashAfter(account.userId, 'examples_erased');
    expect(crashed.signal, crashed.output).toBe('SIGKILL');
    expect(crashed.output).toContain('step examples_erased');
    // Half way: keys revoked, the token refused, the examples gone, the sessions not yet.
    const { rows: reached } = await db.query<{ step: string; completed_at: Date | null }>(
      'select step, completed_at from user_erasures where user_id = $1',
      [account.userId],
    );
    expect(reached).toEqual([{ step: 'examples_erased', completed_at: null }]);
    expect((await callApi('/v1/users/me', { key: account.user.key })).status).toBe(401);
    expect((await callApi('/v1/users/me', { bearer: account.token })).status).toBe(401);
    expect(await blobsOf(blobs, account.exampleId)).toEqual([]);
    expect(await blobsOf(blobs, account.datasetId)).toEqual([]);
    expect((await db.query('select 1 from datasets where user_id = $1', [account.userId])).rows).toEqual([]);
    expect((await blobsOf(blobs, account.sessionIds[0] as string)).length).toBeGreaterThan(0);

    const retried = await erase(account);
    expect(retried.status, retried.text).toBe(204);
    expect(await filesOf(account)).toEqual([]);

    const { rows: users } = await db.query('select display_name, email, external_issuer, external_subject, erased_at, stripe_customer_id from users where id = $1', [account.userId]);
    expect(users[0]).toMatchObject({ display_name: 'Erased user', email: null, external_issuer: null, external_subject: null, erased_at: expect.any(Date) });
    const { rows: sessions } = await db.query<{ status: string; description: string | null; purged_at: Date | null; event_count: string; size_bytes: string }>(
      'select status, description, purged_at, event_count, size_bytes from sessions where user_id = $1',
      [account.userId],
    );
    expect(sessions).toHaveLength(2);
    for (const session of sessions) {
      expect(session).toMatchObject({ status: 'deleted', description: null, purged_at: expect.any(Date) });
      expect(Number(session.event_count)).toBe(92); // billing history stays
    }
    const { rows: kept } = await db.query(
      `select (select count(*)::int from invoices where user_id = $1) as invoices,
              (select count(*)::int from token_usage where user_id = $1) as usage,
              (select count(*)::int from user_settings where user_id = $1) as settings,
              (select count(*)::int from webhook_endpoints where user_id = $1) as webhook_endpoints,
              (select count(*)::int from api_keys where user_id = $1 and revoked_at is null) as live_keys,
              (select step from user_erasures where user_id = $1) as step`,
      [account.userId],
    );
    expect(kept[0]).toEqual({ invoices: 1, usage: 1, settings: 0, webhook_endpoints: 0, live_keys: 0, step: 'done' });

    // Idempotent: the token names no account now, and that is a success too. Registering again starts afresh.
    expect((await erase(account)).status).toBe(204);
    const again = await callApi('/v1/users', { method: 'POST', bearer: account.token });
    expect(again.status).toBe(201);
    expect((again.json as { id: string }).id).not.toBe(account.userId);
  });

  it('is finished by the timer when nobody retries', async () => {
    const account = await accountWithData();
    const crashed = await eraseAndCrashAfter(account.userId, 'keys_revoked');
    expect(crashed.signal).toBe('SIGKILL');
    await db.query(`update user_erasures set updated_at = now() - interval '1 hour' where user_id = $1`, [account.userId]);
    // The host's admin API runs a timer now, as Core Tools does (202, the run goes on in the background).
    const run = await callApi('/admin/functions/resumeUserErasures', { method: 'POST', key: null, body: {}, unchecked: true });
    expect(run.status).toBe(202);
    await eventually('the erasure to be finished', async () => {
      const { rows } = await db.query<{ step: string }>('select step from user_erasures where user_id = $1', [account.userId]);
      return rows[0]?.step === 'done' ? true : undefined;
    });
    expect(await filesOf(account)).toEqual([]);
  });
});
