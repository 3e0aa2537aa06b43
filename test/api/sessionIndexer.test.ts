import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAzurite } from '../../dev/embedded/azurite.js';
import { buildZip, type ZipEntrySpec } from '../../dev/fixtures/zipFiles.js';
import { createDatabase } from '../../shared/db/database.js';
import type { Database } from '../../shared/db/schema.js';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { indexSessionUpload, type IndexUploadDeps } from '../../shared/sessions/indexSessionUpload.js';
import { sessionStoragePath } from '../../shared/sessions/sessionBlob.js';
import { PROJECT_ROOT } from '../support/apiProcess.js';
import { privateIndexer, sessionBlobNames } from '../support/sessions.js';
import { createTestUser } from '../support/users.js';

/**
 * The indexer called directly, on uploads the tests make on staging containers of their own (the host does not
 * watch them): hostile bundles, traces too far out of order for the reorder window, leftovers of a run that died,
 * and a 1 GiB trace. Each case checks the session row and what is left in storage.
 */

let db: Kysely<Database>;
let blobs: BlobServiceClient;
let indexer: Awaited<ReturnType<typeof privateIndexer>>;

beforeAll(async () => {
  db = createDatabase({ connectionString: inject('databaseUrl'), poolMax: 4 });
  blobs = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
  indexer = await privateIndexer(db, blobs);
});

afterAll(async () => {
  await indexer.dispose();
  await db.destroy();
});

const SAMPLES = join(PROJECT_ROOT, 'test/fixtures/samples');
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(200, 7)]);

function event(second: number, action = 'click', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const whole = Math.floor(second);
  const micros = Math.round((second - whole) * 1e6);
  const stamp = new Date(Date.UTC(2026, 11, 1, 10, 0, 0) + whole * 1000).toISOString().slice(0, 19);
  return { timestamp: `${stamp}.${String(micros).padStart(6, '0')}+00:00`, action, ...extra };
}

/** A session row awaiting its upload as `fileName`, and that upload in the private staging container. */
async function stage(fileName: string, content: Buffer | string, deps: IndexUploadDeps = indexer.deps, container: ContainerClient = indexer.uploads) {
  const user = await createTestUser();
  const id = randomUUID();
  await db
    .insertInto('sessions')
    .values({ id, user_id: user.userId, suite_id: GMAIL_SUITE_ID, storage_path: sessionStoragePath(id), upload_file_name: fileName })
    .execute();
  const name = `${id}/1/${fileName}`;
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  await container.getBlockBlobClient(name).upload(bytes, bytes.length);
  return { id, name, run: () => indexSessionUpload(deps, name) };
}

async function row(id: string) {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function canonicalLines(sessions: ContainerClient, id: string): Promise<string[]> {
  return (await sessions.getBlobClient(`${id}/input_events.jsonl`).downloadToBuffer()).toString('utf8').trim().split('\n');
}

function bundle(extra: ZipEntrySpec[], events = 3): Buffer {
  const inputs = Array.from({ length: events }, (_, i) => ({ name: `input/${i + 1}.json`, content: JSON.stringify(event(i + 1), null, 2) }));
  return buildZip([...inputs, ...extra]);
}

describe('hostile and broken bundles', () => {
  it.each<[string, () => Buffer, RegExp]>([
    ['an entry whose name leaves the folder', () => bundle([{ name: '../../etc/evil.json', content: '{}' }]), /leaves the folder \(\.\.\/\.\.\/etc\/evil\.json\)/],
    ['an absolute entry name', () => bundle([{ name: '/tmp/evil.json', content: '{}' }]), /leaves the folder/],
    ['an entry that inflates past its declared size', () => bundle([{ name: 'input/9.json', content: Buffer.alloc(5 * 1024 * 1024, 0x20), deflate: true, declaredSize: 100 }]), /does not match its declared size/],
    ['a file that only starts like a zip', () => Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100)]), /not a readable zip/],
    ['a bundle without events', () => buildZip([{ name: 'README.md', content: 'hello' }]), /has no events/],
  ])('refuses %s, keeping nothing', async (_what, make, message) => {
    const upload = await stage('recording.zip', make());
    expect(await upload.run()).toMatchObject({ outcome: 'invalid' });
    const session = await row(upload.id);
    expect(session.status).toBe('invalid');
    expect(session.validation_errors.map((error) => error.message).join(' | ')).toMatch(message);
    expect(session.stored_bytes).toBe(0);
    expect(await sessionBlobNames(indexer.sessions, upload.id)).toEqual([]);
    expect(await indexer.uploads.getBlobClient(upload.name).exists()).toBe(false);
  });

  it('refuses a zip bomb by the size it unpacks to, the limit of its upload', async () => {
    const deps = { ...indexer.deps, maxBytes: { url: 1024 * 1024, multipart: 1024 * 1024, inline: 1024 * 1024 } };
    const bomb = bundle([{ name: 'screenshot/2026-12-01T10:00:01Z/shot.png', content: Buffer.alloc(64 * 1024 * 1024), deflate: true }]);
    expect(bomb.length).toBeLessThan(200 * 1024); // 64 MiB of zeros deflate to almost nothing
    const upload = await stage('bomb.zip', bomb, deps);
    expect(await upload.run()).toMatchObject({ outcome: 'invalid' });
    expect((await row(upload.id)).validation_errors).toEqual([
      { line: 0, message: `The bundle unpacks to more than ${1024 * 1024} bytes, the limit of this upload.` },
    ]);
    expect(await sessionBlobNames(indexer.sessions, upload.id)).toEqual([]);
  });

  it('names the entry of each broken screenshot folder and each over-size event, as the pipelines would refuse them', async () => {
    const upload = await stage(
      'recording.zip',
      bundle([
        { name: 'input/50.json', content: JSON.stringify(event(50, 'x', { pad: 'p'.repeat(2 * 1024 * 1024) })) },
        { name: 'screenshot/2026-12-01T10:00:01Z/meta.json', content: JSON.stringify(event(1)) },
        { name: 'screenshot/2026-12-01T10:00:01Z/also.json', content: '{}' },
        { name: 'screenshot/2026-12-01T10:00:01Z/shot.png', content: PNG },
        { name: 'screenshot/2026-12-01T10:00:02Z/meta.json', content: JSON.stringify(event(2)) },
        { name: 'screenshot/2026-12-01T10:00:02Z/a.png', content: PNG },
        { name: 'screenshot/2026-12-01T10:00:02Z/b.png', content: PNG },
        { name: 'screenshot/2026-12-01T10:00:03Z/meta.json', content: JSON.stringify(event(3)) },
        { name: 'screenshot/2026-12-01T10:00:04Z/shot.png', content: PNG },
        { name: 'screenshot/2026-12-01T10:00:05Z/meta.json', content: JSON.stringify(event(5)) },
        { name: 'screenshot/2026-12-01T10:00:05Z/shot.jpg', content: PNG },
        { name: 'screenshot/not-a-time/shot.png', content: PNG },
      ]),
    );
    expect(await upload.run()).toMatchObject({ outcome: 'invalid' });
    expect((await row(upload.id)).validation_errors).toEqual(
      expect.arrayContaining([
        { entry: 'input/50.json', message: expect.stringMatching(/^The entry is \d+ bytes; at most 1048576 are read\.$/) },
        { entry: 'screenshot/2026-12-01T10:00:01Z/also.json', message: expect.stringContaining('holds two JSON files') },
        { entry: 'screenshot/2026-12-01T10:00:02Z/b.png', message: expect.stringContaining('holds two images') },
        { entry: 'screenshot/2026-12-01T10:00:03Z/', message: expect.stringContaining('has no image') },
        { entry: 'screenshot/2026-12-01T10:00:04Z/', message: expect.stringContaining('has no JSON file') },
        { entry: 'screenshot/2026-12-01T10:00:05Z/shot.jpg', message: "The screenshot's file name says jpeg, but its content is png." },
        { entry: 'screenshot/not-a-time/shot.png', message: expect.stringContaining('not named by its timestamp') },
      ]),
    );
    expect(await sessionBlobNames(indexer.sessions, upload.id)).toEqual([]); // screenshots stored on the way are gone
  });

  it('reads a zip of the folder itself, ignoring what is not part of the layout', async () => {
    const inner = buildZip([
      { name: 'recording/', content: '' },
      { name: 'recording/input/2.json', content: JSON.stringify(event(2, 'keydown')), deflate: true },
      { name: 'recording/input/1.json', content: JSON.stringify(event(1, 'mousedown')), deflate: true },
      { name: 'recording/notes.txt', content: 'not part of it' },
      { name: '__MACOSX/recording/input/._1.json', content: 'resource fork' },
      { name: 'recording/screenshot/2026-12-01T10:00:01Z/meta.json', content: JSON.stringify({ ...event(1), viewport: { width: 800, height: 600 } }) },
      { name: 'recording/screenshot/2026-12-01T10:00:01Z/shot.png', content: PNG, deflate: true },
    ]);
    const upload = await stage('folder.zip', inner);
    expect(await upload.run()).toMatchObject({ outcome: 'ready' });
    expect(await row(upload.id)).toMatchObject({ status: 'ready', event_count: 2, screenshot_count: 1, format: 'recorder-bundle' });
    expect((await canonicalLines(indexer.sessions, upload.id)).map((line) => (JSON.parse(line) as { action: string }).action)).toEqual(['mousedown', 'keydown']);
    expect(await sessionBlobNames(indexer.sessions, upload.id)).toEqual([
      'input_events.jsonl',
      'original/folder.zip',
      'screenshots.jsonl',
      'screenshots/20261201T100001.000000Z.png',
    ]);
  });
});

describe('ordering beyond the reorder window', () => {
  it('sorts a JSON Lines trace in runs when it is too far out of order, merging them in rounds', async () => {
    const deps = { ...indexer.deps, reorderLimits: { maxEvents: 4, maxBytes: 1_000_000 }, runBytes: 2_000 };
    const seconds = Array.from({ length: 600 }, (_, i) => (i * 7919) % 600); // every second, shuffled
    const text = `${seconds.map((s) => JSON.stringify(event(s, `a${s % 5}`))).join('\n')}\n`;
    const upload = await stage('shuffled.jsonl', text, deps);
    expect(await upload.run()).toMatchObject({ outcome: 'ready' });
    const lines = await canonicalLines(indexer.sessions, upload.id);
    expect(lines.map((line) => (JSON.parse(line) as { timestamp: string }).timestamp)).toEqual(
      [...seconds].sort((a, b) => a - b).map((s) => event(s).timestamp),
    );
    expect(await row(upload.id)).toMatchObject({ event_count: 600, first_event_ts: Date.UTC(2026, 11, 1, 10) * 1000 });
    expect(await sessionBlobNames(indexer.sessions, upload.id)).toEqual(['input_events.jsonl', 'original/shuffled.jsonl']); // no run left
  });

  it('sorts a Chrome trace in runs, its clock anchored only at its end', async () => {
    const deps = { ...indexer.deps, runBytes: 1_500 };
    const bytes = readFileSync(join(SAMPLES, 'chrome-trace-small.json'));
    const upload = await stage('trace.json', bytes, deps);
    expect(await upload.run()).toMatchObject({ outcome: 'ready' });
    const times = (await canonicalLines(indexer.sessions, upload.id)).map((line) => (JSON.parse(line) as { timestamp: string }).timestamp);
    expect(times).toEqual([...times].sort());
    expect(times[0]).toMatch(/^2026-12-01T21:22:54\./);
  });
});

describe('runs that died or raced', () => {
  it('clears what a run that died left in the session folder before writing the new result', async () => {
    const upload = await stage('again.jsonl', `${JSON.stringify(event(1))}\n`);
    for (const leftover of ['screenshots/old.png', '.indexing/run-000000', 'original/other.zip', 'screenshots.jsonl']) {
      await indexer.sessions.getBlockBlobClient(`${upload.id}/${leftover}`).upload('x', 1);
    }
    await db.updateTable('sessions').set({ status: 'processing', indexing_etag: '"an-older-run"' }).where('id', '=', upload.id).execute();
    expect(await upload.run()).toMatchObject({ outcome: 'ready' });
    expect(await sessionBlobNames(indexer.sessions, upload.id)).toEqual(['input_events.jsonl']);
    expect(await row(upload.id)).toMatchObject({ status: 'ready', indexing_etag: null });
  });

  it('drops its result when a newer upload of the same URL has claimed the session meanwhile', async () => {
    const upload = await stage('raced.jsonl', `${JSON.stringify(event(1))}\n`);
    // The newer run's claim lands while this one reads the upload: the wrapper claims when the read starts.
    const uploads = indexer.uploads;
    const claimOnRead: ContainerClient = Object.create(uploads) as ContainerClient;
    claimOnRead.getBlockBlobClient = (name: string) => {
      const blob = uploads.getBlockBlobClient(name);
      const download = blob.download.bind(blob);
      blob.download = async (...args: Parameters<typeof blob.download>) => {
        await db.updateTable('sessions').set({ indexing_etag: '"a-newer-upload"' }).where('id', '=', upload.id).execute();
        return download(...args);
      };
      return blob;
    };
    const sessions = indexer.sessions;
    expect(await indexSessionUpload({ ...indexer.deps, uploads: claimOnRead }, upload.name)).toMatchObject({ outcome: 'superseded' });
    expect(await row(upload.id)).toMatchObject({ status: 'processing', indexing_etag: '"a-newer-upload"' });
    expect(await sessions.getBlobClient(`${upload.id}/input_events.jsonl`).exists()).toBe(false); // never committed
  });
});

describe('the BlobCreated event of each write', () => {
  it('changes nothing for an event about an older version of the upload; the current version\'s event indexes it', async () => {
    const upload = await stage('rewritten.jsonl', `${JSON.stringify(event(1))}\n`);
    const first = await indexer.uploads.getBlockBlobClient(upload.name).getProperties();
    const newer = `${JSON.stringify(event(2))}\n`;
    const second = await indexer.uploads.getBlockBlobClient(upload.name).upload(newer, Buffer.byteLength(newer));
    // Event Grid's eTag carries no quotes; the blob service's does.
    const stale = String(first.etag).replace(/"/g, '');
    expect(await indexSessionUpload(indexer.deps, upload.name, { etag: stale })).toEqual({ outcome: 'superseded', etag: second.etag });
    const before = await row(upload.id);
    expect(before).toMatchObject({ indexing_etag: null, indexed_etag: null });
    expect(before.status).not.toBe('ready');
    expect(await indexer.uploads.getBlockBlobClient(upload.name).exists()).toBe(true);

    expect(await indexSessionUpload(indexer.deps, upload.name, { etag: String(second.etag).replace(/"/g, '') })).toMatchObject({ outcome: 'ready' });
    expect(await row(upload.id)).toMatchObject({ status: 'ready', indexed_etag: second.etag, event_count: 1 });
    // The older event, delivered late or again, finds the upload indexed and gone.
    expect(await indexSessionUpload(indexer.deps, upload.name, { etag: stale })).toEqual({ outcome: 'blob_missing' });
  });
});

describe('a 1 GiB trace', () => {
  it('is indexed in one pass: ready, every event counted, the upload and its canonical trace measured', async () => {
    // An Azurite of its own, with room for the upload and the trace in memory.
    const azurite = await startAzurite({ extentMemoryLimitMb: 3072 });
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const uploads = service.getContainerClient('uploads');
    const sessions = service.getContainerClient('sessions');
    await Promise.all([uploads.create(), sessions.create()]);
    const deps: IndexUploadDeps = { ...indexer.deps, uploads, sessions };
    try {
      const line = (i: number) =>
        `${JSON.stringify({ suite: 'mailapp', tab: 1, url: 'https://mail.example.com/', ...event(i / 1000, i % 3 ? 'mousemove' : 'keydown'), additional_info: { x: i % 1920, y: i % 1080 } })}\n`;
      const target = 1024 * 1024 * 1024;
      const hash = createHash('sha256');
      let size = 0;
      let lines = 0;
      function* chunks(): Generator<Buffer> {
        while (size < target) {
          let text = '';
          while (text.length < 1024 * 1024) text += line(lines++);
          const chunk = Buffer.from(text);
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      }
      const user = await createTestUser();
      const id = randomUUID();
      await db
        .insertInto('sessions')
        .values({ id, user_id: user.userId, suite_id: GMAIL_SUITE_ID, storage_path: sessionStoragePath(id), upload_file_name: 'big.jsonl' })
        .execute();
      await uploads.getBlockBlobClient(`${id}/1/big.jsonl`).uploadStream(Readable.from(chunks()), 8 * 1024 * 1024, 4);
      const digest = hash.digest('hex');
      expect(await indexSessionUpload(deps, `${id}/1/big.jsonl`)).toMatchObject({ outcome: 'ready', format: 'recorder-jsonl' });
      expect(await row(id)).toMatchObject({
        status: 'ready',
        event_count: lines,
        size_bytes: size,
        sha256: digest,
        canonical_size_bytes: size,
        canonical_sha256: digest, // already canonical: written back byte for byte
        original_file_name: null,
        stored_bytes: size,
      });
      expect(await uploads.getBlobClient(`${id}/1/big.jsonl`).exists()).toBe(false);
    } finally {
      await azurite.stop();
    }
  }, 600_000);
});
