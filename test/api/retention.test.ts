import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../shared/db/database.js';
import type { Database } from '../../shared/db/schema.js';
import { runRetention } from '../../shared/privacy/retention.js';
import { removeAbandonedStaging } from '../../shared/sessions/staleUploads.js';
import { fileStoresOf } from '../../shared/storage/fileStores.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { GPT_4O } from '../support/examples.js';
import { signEntraToken } from '../support/fakeEntra.js';
import { callApi } from '../support/http.js';
import { blobsOf, eventually, getSessionViaApi, uploadAndIndex, type SessionBody } from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';

/**
 * Retention settings over HTTP, the preview, and the daily run with a moved clock: the run is called with a `now`
 * past the retention (as the timer calls it with the real one), and once through the host's timer with rows made
 * old.
 */

const sample = (name: string) => readFileSync(join(PROJECT_ROOT, 'test/fixtures/samples', name));
const DAY = 86_400_000;
const DEFAULTS = { defaultSessionRetentionDays: 90, defaultExampleRetentionDays: null };
let db: Kysely<Database>;
let blobs: BlobServiceClient;

beforeAll(() => {
  db = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 2 });
  blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
});
afterAll(() => db.destroy());

const settings = (user: TestUser) => callApi('/v1/users/me/settings', { key: user.key });
const patch = (user: TestUser, body: unknown) => callApi('/v1/users/me/settings', { method: 'PATCH', key: user.key, body });

describe('GET|PATCH /v1/users/me/settings', () => {
  it('starts from the configured defaults, and a change keeps the fields it leaves out', async () => {
    const user = await createTestUser();
    expect((await settings(user)).json).toEqual({
      session_retention_days: 90,
      example_retention_days: null,
      redaction: { passwords: true, email_addresses: false, card_numbers: true, patterns: [] },
      updated_at: null,
    });
    const changed = await patch(user, { session_retention_days: 30, redaction: { patterns: [{ name: 'ticket', pattern: 'TCK-\\d+' }] } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toMatchObject({
      session_retention_days: 30,
      example_retention_days: null,
      redaction: { email_addresses: false, card_numbers: true, patterns: [{ name: 'ticket', pattern: 'TCK-\\d+' }] },
    });
    expect((await patch(user, { session_retention_days: null, example_retention_days: 7 })).json).toMatchObject({
      session_retention_days: null,
      example_retention_days: 7,
      redaction: { patterns: [{ name: 'ticket' }] },
    });
    expect((await settings(user)).json).toMatchObject({ session_retention_days: null, example_retention_days: 7, updated_at: expect.any(String) });
  });

  it('is 422 naming the field for values out of range, unknown fields and patterns RE2 cannot use, changing nothing', async () => {
    const user = await createTestUser();
    const cases: Array<[unknown, string, RegExp?]> = [
      [{ session_retention_days: 0 }, 'session_retention_days'],
      [{ session_retention_days: 3651 }, 'session_retention_days'],
      [{ example_retention_days: 1.5 }, 'example_retention_days'],
      [{ session_retention_days: '30' }, 'session_retention_days'],
      [{ retention: 3 }, '(root)'],
      [{ redaction: { patterns: [{ name: 'x', pattern: '(unclosed' }] } }, 'redaction.patterns.0.pattern', /missing closing \)/],
      [{ redaction: { patterns: [{ name: 'x', pattern: '(a)\\1' }] } }, 'redaction.patterns.0.pattern', /invalid escape/],
      [{ redaction: { patterns: [{ name: 'x', pattern: '.*' }] } }, 'redaction.patterns.0.pattern', /matches the empty string/],
      [{ redaction: { patterns: [{ name: 'x y', pattern: 'a' }] } }, 'redaction.patterns.0.name'],
      [{ redaction: { patterns: [{ name: 'a', pattern: 'a' }, { name: 'a', pattern: 'b' }] } }, 'redaction.patterns.1.name'],
    ];
    for (const [body, field, reason] of cases) {
      const response = await patch(user, body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      const fields = (response.json as { error: { details: { fields: Array<{ field: string; message: string }> } } }).error.details.fields;
      expect(fields.map((entry) => entry.field)).toContain(field);
      if (reason) expect(fields.find((entry) => entry.field === field)?.message).toMatch(reason);
    }
    expect((await settings(user)).json).toMatchObject({ session_retention_days: 90, updated_at: null });
  });

  it('writes the defaults in force for a user who registers', async () => {
    const token = await signEntraToken();
    const registered = await callApi('/v1/users', { method: 'POST', bearer: token });
    const rows = await db
      .selectFrom('user_settings')
      .select(['session_retention_days', 'example_retention_days', 'redact_card_numbers'])
      .where('user_id', '=', (registered.json as { id: string }).id)
      .execute();
    expect(rows).toEqual([{ session_retention_days: 90, example_retention_days: null, redact_card_numbers: true }]);
  });
});

describe('retention', () => {
  it('previews and then expires sessions past retention: files gone, rows kept as expired; others untouched', async () => {
    const user = await createTestUser();
    const keeper = await createTestUser();
    expect((await patch(keeper, { session_retention_days: null })).status).toBe(200);
    const old = await uploadAndIndex(sample('chrome-trace-small.json'), {}, user);
    const young = await uploadAndIndex(sample('rrweb-session.json'), {}, user);
    const kept = await uploadAndIndex(sample('rrweb-session.json'), {}, keeper);
    await db.updateTable('sessions').set({ created_at: new Date(Date.now() - 100 * DAY) }).where('id', 'in', [old.id, kept.id]).execute();

    const preview = await callApi('/v1/users/me/retention-preview', { key: user.key });
    expect(preview.status).toBe(200);
    expect(preview.json).toMatchObject({ sessions: { count: 1, items: [{ id: old.id, status: 'ready' }] }, examples: { count: 0 } });
    expect((preview.json as { sessions: { stored_bytes: number } }).sessions.stored_bytes).toBeGreaterThan(0);
    expect((await callApi('/v1/users/me/retention-preview', { key: keeper.key })).json).toMatchObject({ sessions: { count: 0, items: [] } });
    expect((await getSessionViaApi(user, old.id)).json).toMatchObject({ status: 'ready' }); // a preview changes nothing

    const report = await runRetention(db, fileStoresOf(blobs), DEFAULTS, new Date(), user.userId);
    expect(report.expired_session_ids).toEqual([old.id]);
    expect((await runRetention(db, fileStoresOf(blobs), DEFAULTS, new Date(), keeper.userId)).expired_session_ids).toEqual([]);
    expect(report.expired_session_ids).not.toContain(young.id);
    expect(report.expired_session_ids).not.toContain(kept.id);
    expect(await blobsOf(blobs, old.id)).toEqual([]);
    const expired = (await getSessionViaApi(user, old.id)).json as SessionBody & { expired_at: string };
    expect(expired).toMatchObject({ status: 'expired', event_count: old.event_count, files: null, expired_at: expect.any(String) });
    expect((await blobsOf(blobs, young.id)).length).toBeGreaterThan(0);
    expect((await callApi('/v1/users/me/retention-preview', { key: user.key })).json).toMatchObject({ sessions: { count: 0 } });
    // Listed still (only deleted sessions are left out), and deletable.
    const listed = (await callApi('/v1/sessions', { key: user.key })).json as { items: SessionBody[] };
    expect(listed.items.find((item) => item.id === old.id)?.status).toBe('expired');
    expect((await callApi(`/v1/sessions/${old.id}`, { method: 'DELETE', key: user.key })).status).toBe(204);

    // The clock moved on 91 days: the young one goes too; the keeper's never.
    // (Each user's own run: the moved clock would expire every other test's sessions too.)
    const later = await runRetention(db, fileStoresOf(blobs), DEFAULTS, new Date(Date.now() + 91 * DAY), user.userId);
    expect(later.expired_session_ids).toEqual([young.id]);
    const keeperLater = await runRetention(db, fileStoresOf(blobs), DEFAULTS, new Date(Date.now() + 9000 * DAY), keeper.userId);
    expect(keeperLater.expired_session_ids).toEqual([]);
    expect(await blobsOf(blobs, young.id)).toEqual([]);
  });

  it("deletes examples past the user's example retention, and the host's daily timer runs it", async () => {
    const user = await createTestUser();
    expect((await patch(user, { example_retention_days: 10, session_retention_days: null })).status).toBe(200);
    const session = await uploadAndIndex(sample('rrweb-session.json'), {}, user);
    const example = await callApi('/v1/examples', { method: 'POST', key: user.key, body: { session_id: session.id, model_id: GPT_4O } });
    const exampleId = (example.json as { id: string }).id;
    await blobs.getContainerClient('examples').getBlockBlobClient(`${exampleId}/messages.jsonl`).upload('{}\n', 3);
    await db.updateTable('examples').set({ created_at: new Date(Date.now() - 11 * DAY) }).where('id', '=', exampleId).execute();
    expect((await callApi('/v1/users/me/retention-preview', { key: user.key })).json).toMatchObject({
      examples: { count: 1, items: [{ id: exampleId, session_id: session.id }] },
    });
    expect((await callApi('/admin/functions/runDataLifecycle', { method: 'POST', key: null, body: {}, unchecked: true })).status).toBe(202);
    await eventually('the example to be deleted', async () => ((await blobsOf(blobs, exampleId)).length === 0 ? true : undefined));
    expect((await callApi(`/v1/examples/${exampleId}`, { key: user.key })).json).toMatchObject({ deleted_at: expect.any(String) });
    expect((await getSessionViaApi(user, session.id)).json).toMatchObject({ status: 'ready' });
  });

  it('removes staging uploads older than 7 days, committed or never committed, and leaves younger ones', async () => {
    // A staging container of the test's own: the moved clock would remove every other test's uploads too.
    const uploads = blobs.getContainerClient(`uploads-test-${Date.now().toString(36)}`);
    await uploads.create();
    try {
      // Blocks staged and never committed (a client that gave up), and a committed upload never indexed.
      await uploads.getBlockBlobClient('a/1/partial.jsonl').stageBlock(Buffer.from('block-1').toString('base64'), 'partial', 7);
      await uploads.getBlockBlobClient('b/1/whole.jsonl').upload('{}', 2);
      expect(await removeAbandonedStaging(uploads, new Date())).toEqual([]);
      expect((await removeAbandonedStaging(uploads, new Date(Date.now() + 8 * DAY))).sort()).toEqual(['a/1/partial.jsonl', 'b/1/whole.jsonl']);
      const left: string[] = [];
      for await (const blob of uploads.listBlobsFlat({ includeUncommitedBlobs: true })) left.push(blob.name);
      expect(left).toEqual([]);
    } finally {
      await uploads.delete();
    }
  });
});
