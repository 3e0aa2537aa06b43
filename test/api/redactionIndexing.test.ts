import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { useApiDatabaseClient } from '../support/apiDatabase.js';
import { callApi } from '../support/http.js';
import { blobsOf, postSessionMultipart, uploadAndIndex, waitUntilIndexed, type SessionBody } from '../support/sessions.js';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { createTestUser, type TestUser } from '../support/users.js';

/**
 * Redaction at ingestion, end to end: the sample recordings uploaded through the API and indexed by the host's
 * trigger, then every byte stored for them (canonical trace, original, screenshots, staging, the session row)
 * searched for what must not be there.
 */

const db = useApiDatabaseClient();
const sample = (name: string) => readFileSync(join(PROJECT_ROOT, 'test/fixtures/samples', name));
const PASSWORD = 'pw-FAKE1';
let blobs: BlobServiceClient;

beforeAll(() => {
  blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
});

/** Every blob stored for the session (sessions/<id>/ and uploads/<id>/) with its bytes. */
async function storedBytes(sessionId: string): Promise<Map<string, Buffer>> {
  const stored = new Map<string, Buffer>();
  for (const name of await blobsOf(blobs, sessionId)) {
    const [container, ...rest] = name.split('/');
    stored.set(name, await blobs.getContainerClient(container as string).getBlobClient(rest.join('/')).downloadToBuffer());
  }
  return stored;
}

async function rowText(sessionId: string): Promise<string> {
  const { rows } = await db.query('select * from sessions where id = $1', [sessionId]);
  return JSON.stringify(rows[0]);
}

function expectAbsent(stored: Map<string, Buffer>, ...secrets: string[]) {
  for (const [name, bytes] of stored) {
    for (const secret of secrets) expect(bytes.includes(secret), `${secret} in ${name}`).toBe(false);
  }
}

async function patchSettings(user: TestUser, body: unknown) {
  const response = await callApi('/v1/users/me/settings', { method: 'PATCH', key: user.key, body });
  expect(response.status, response.text).toBe(200);
}

describe('the password of the sample recordings is absent from every stored byte', () => {
  it('recorder JSON Lines as recorded: the masked upload is the trace, and no original is kept', async () => {
    const session = await uploadAndIndex(sample('recorder-session.jsonl'));
    expect(session).toMatchObject({ status: 'ready', redactions: 58, redaction_counts: { password: 58 }, files: { original: null } });
    const stored = await storedBytes(session.id);
    expect([...stored.keys()]).toEqual([`sessions/${session.id}/input_events.jsonl`]);
    expectAbsent(stored, PASSWORD, '"KeyP"');
    expect(await rowText(session.id)).not.toContain(PASSWORD);
  });

  it('recorder JSON Lines out of order: the original is the upload with only its masked lines rewritten', async () => {
    const lines = sample('recorder-session.jsonl').toString('utf8').trim().split('\n');
    const shuffled = [...lines.slice(46), ...lines.slice(0, 46)];
    const bytes = Buffer.from(`${shuffled.join('\r\n')}\r\n`);
    const session = await uploadAndIndex(bytes, { file_name: 'shuffled.jsonl' });
    expect(session).toMatchObject({ status: 'ready', event_count: 92, redactions: 58, files: { original: `sessions/${session.id}/original/shuffled.jsonl` } });
    const stored = await storedBytes(session.id);
    expectAbsent(stored, PASSWORD, '"KeyP"', '"data":"p"');
    const original = (stored.get(`sessions/${session.id}/original/shuffled.jsonl`) as Buffer).toString('utf8').split('\r\n');
    const canonical = new Set((stored.get(`sessions/${session.id}/input_events.jsonl`) as Buffer).toString('utf8').trim().split('\n'));
    expect(original).toHaveLength(93);
    original.slice(0, 92).forEach((line, index) => {
      // Unmasked lines byte for byte; masked ones as the canonical trace has them (their timestamps were canonical).
      if (line !== shuffled[index]) expect(line).toContain('[REDACTED:password]');
      expect(canonical.has(line)).toBe(true);
    });
    expect(original[92]).toBe('');
    expect(original.slice(0, 92).filter((line, index) => line !== shuffled[index])).toHaveLength(30);
    const stored_bytes = await db.query<{ stored_bytes: string }>('select stored_bytes from sessions where id = $1', [session.id]);
    const total = [...stored.values()].reduce((sum, blob) => sum + blob.length, 0);
    expect(Number(stored_bytes.rows[0]?.stored_bytes)).toBe(total);
  });

  it('the recorder bundle: trace, screenshots and manifest hold no password, and no zip is kept', async () => {
    const user = await createTestUser();
    const response = await postSessionMultipart(user, [
      { name: 'suite_id', value: GMAIL_SUITE_ID },
      { name: 'input_events', filename: 'recorder-bundle.zip', content: sample('recorder-bundle.zip') },
    ]);
    expect(response.status, response.text).toBe(201);
    const session = await waitUntilIndexed(user, (response.json as SessionBody).id);
    expect(session).toMatchObject({ status: 'ready', screenshot_count: 3, redactions: 58, files: { original: null } });
    const stored = await storedBytes(session.id);
    expect([...stored.keys()].some((name) => name.startsWith('uploads/'))).toBe(false);
    expect(stored.size).toBe(5); // the trace, the manifest, three screenshots
    expectAbsent(stored, PASSWORD, '"KeyP"');
  });

  it("Chrome's trace never has it and rrweb masks it itself: both stay so", async () => {
    for (const name of ['chrome-trace-small.json', 'rrweb-session.json']) {
      const session = await uploadAndIndex(sample(name));
      expect(session.status).toBe('ready');
      expectAbsent(await storedBytes(session.id), PASSWORD);
    }
  });
});

describe("a user's redaction settings", () => {
  it('masks e-mail addresses and custom patterns when asked, in the trace and the original, counting each rule', async () => {
    const user = await createTestUser();
    await patchSettings(user, { redaction: { email_addresses: true, patterns: [{ name: 'subject', pattern: 'Quarterly [a-z]+' }] } });
    const lines = [
      '{"timestamp":"2026-12-01T21:22:57Z","action":"input","selector":{"tag":"input","id":"to"},"additional_info":{"value":"al@x.io, grace@example.com"}}',
      '{"timestamp":"2026-12-01T21:22:58Z","action":"input","selector":{"tag":"input","id":"subject"},"additional_info":{"value":"Quarterly numbers"}}',
      '{"timestamp":"2026-12-01T21:22:59Z","action":"click","additional_info":{"x":1}}',
    ];
    const session = await uploadAndIndex(Buffer.from(`${lines.join('\n')}\n`), {}, user);
    expect(session).toMatchObject({ status: 'ready', redactions: 3, redaction_counts: { email: 2, 'custom:subject': 1 } });
    const stored = await storedBytes(session.id);
    expectAbsent(stored, 'al@x.io', 'grace@example.com', 'Quarterly numbers');
    const original = (stored.get(session.files?.original as string) as Buffer).toString('utf8').split('\n');
    expect(original[0]).toContain('"value":"[REDACTED:email], [REDACTED:email]"');
    expect(original[1]).toContain('"value":"[REDACTED:subject]"');
    expect(original[2]).toBe(lines[2]);
  });

  it('keeps card numbers when the user turns that rule off, and masks them by default', async () => {
    const line = '{"timestamp":"2026-12-01T21:22:57.000000+00:00","action":"input","additional_info":{"value":"4111 1111 1111 1111"}}\n';
    const masked = await uploadAndIndex(Buffer.from(line));
    expect(masked).toMatchObject({ redactions: 1, redaction_counts: { card_number: 1 } });
    expectAbsent(await storedBytes(masked.id), '4111 1111 1111 1111');

    const user = await createTestUser();
    await patchSettings(user, { redaction: { card_numbers: false } });
    const kept = await uploadAndIndex(Buffer.from(line), {}, user);
    expect(kept).toMatchObject({ redactions: 0, redaction_counts: {}, canonical_sha256: kept.sha256 });
  });
});
