import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, inject, it } from 'vitest';
import { EXIT_CODES } from '../../cli/src/cliError.js';
import { GMAIL_SUITE_ID } from '../../shared/seed/catalog.js';
import { tmpdir } from 'node:os';
import { generateApiKeySecret } from '../../shared/auth/apiKeySecret.js';
import { PROJECT_ROOT, spawnApi } from '../support/apiProcess.js';
import { createTestDatabase } from '../support/database.js';
import { cliHome, resumeRecords, runCli, startCli, unzipTo, type CliRun } from '../support/cli.js';
import { addStoredExample, gmailConversation, jsonl } from '../support/datasets.js';
import { createSessionRow, stagingNameOf } from '../support/sessions.js';
import { createTestUser, type TestUser } from '../support/users.js';

/*
 * The tracepipe CLI as users run it (node dist/cli/bin/tracepipe.js, what `npx tracepipe` starts) against the
 * local host: uploads of every format with --wait, an upload interrupted half-way and resumed, an expired upload
 * URL renewed, the documented exit codes, and --json parsed.
 */

const SAMPLES = join(PROJECT_ROOT, 'test/fixtures/samples');

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

function envOf(user: TestUser | null, home: { env: Record<string, string> }): Record<string, string | undefined> {
  return { ...home.env, ...(user ? { TRACEPIPE_API_KEY: user.key } : {}) };
}

// The CLI's JSON, read field by field in expectations: `any` keeps them short (toMatchObject checks the shapes).
function jsonOf(run: CliRun): Record<string, any> {
  try {
    return JSON.parse(run.stdout) as Record<string, any>;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/** A recorder JSON Lines trace of about `bytes`, valid event by event (the indexer makes it ready). */
function writeLargeTrace(path: string, bytes: number): void {
  const lines: string[] = [];
  for (let i = 0; i < 2000; i += 1) {
    const seconds = String(i % 60).padStart(2, '0');
    lines.push(
      JSON.stringify({
        timestamp: `2026-12-01T21:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${seconds}.000000+00:00`,
        action: i % 3 ? 'mousemove' : 'click',
        selector: { tag: 'div', id: `n${i}` },
        additional_info: { x: i, y: i * 2, filler: 'x'.repeat(200) },
      }),
    );
  }
  const chunk = Buffer.from(`${lines.join('\n')}\n`);
  const fd = openSync(path, 'w');
  try {
    // Events repeat chunk by chunk: each chunk is in order, chunks restart the clock (the indexer sorts them).
    for (let written = 0; written < bytes; written += chunk.length) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

/** Starts an upload and sends SIGINT once its progress passes `percent`. */
async function interruptedUpload(args: string[], env: Record<string, string | undefined>, percent: number): Promise<CliRun> {
  const started = startCli(args, env);
  started.child.stdin?.end();
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      const reached = [...started.stderr().matchAll(/uploaded (\d+)%/g)].some((match) => Number(match[1]) >= percent);
      if (reached) {
        started.child.stderr?.off('data', check);
        resolve();
      }
    };
    started.child.stderr?.on('data', check);
    void started.done.then((run) => reject(new Error(`The upload ended before ${percent}%:\n${run.stderr}`)));
  });
  started.child.kill('SIGINT');
  return started.done;
}

describe('tracepipe upload --wait', () => {
  it.each([
    ['recorder-session.jsonl', 'recorder-jsonl', 92],
    ['chrome-trace-small.json', 'chrome-trace', 181],
    ['rrweb-session.json', 'rrweb', 42],
    ['recorder-bundle.zip', 'recorder-bundle', 92],
  ])('uploads %s as it is and prints the indexed session (%s, %i events)', async (file, format, events) => {
    const user = await createTestUser();
    const path = join(SAMPLES, file);
    const run = await runCli(['upload', path, '--suite', 'Gmail', '--wait', '--json'], envOf(user, cliHome()));
    expect(run.code, run.stderr).toBe(EXIT_CODES.ok);
    const result = jsonOf(run);
    expect(result.session).toMatchObject({ status: 'ready', format, event_count: events, suite_id: GMAIL_SUITE_ID, file_name: file });
    expect(result.session.sha256).toBe(await sha256File(path));
    expect(result.upload).toMatchObject({ size_bytes: statSync(path).size, sha256: result.session.sha256, resumed: false });
  });

  it('zips a recorder folder on the fly into a bundle: events and screenshots as from the zip itself', async () => {
    const user = await createTestUser();
    const home = cliHome();
    const folder = join(home.dir, 'my recording');
    await unzipTo(join(SAMPLES, 'recorder-bundle.zip'), folder);
    const run = await runCli(['upload', folder, '--suite', GMAIL_SUITE_ID, '--wait', '--json', '--description', 'a folder'], envOf(user, home));
    expect(run.code, run.stderr).toBe(EXIT_CODES.ok);
    expect(jsonOf(run).session).toMatchObject({
      status: 'ready',
      format: 'recorder-bundle',
      event_count: 92,
      screenshot_count: 3,
      file_name: 'my_recording.zip',
      description: 'a folder',
    });
    expect(resumeRecords(home.dir)).toEqual([]);
  });

  it('prints an invalid session\'s errors by line and exits with 4', async () => {
    const user = await createTestUser();
    const home = cliHome();
    const path = join(home.dir, 'broken.jsonl');
    writeFileSync(path, '{"timestamp":"2026-12-01T21:22:57Z","action":"click"}\nnot json\n');
    const run = await runCli(['upload', path, '--suite', 'gmail', '--wait'], envOf(user, home));
    expect(run.code).toBe(EXIT_CODES.rejected);
    expect(run.stdout).toMatch(/status:\s+invalid/);
    expect(run.stdout).toMatch(/line 2: /);
    expect(run.stderr).toMatch(/session_invalid/);
  });
});

describe('resuming', () => {
  it('continues an upload interrupted half-way (SIGINT) from its staged blocks, ending ready with the file\'s sha256', async () => {
    const user = await createTestUser();
    const home = cliHome();
    const path = join(home.dir, 'large.jsonl');
    writeLargeTrace(path, 128 * 1024 * 1024);
    const args = ['upload', path, '--suite', 'Gmail', '--json', '--block-size', '4', '--concurrency', '4'];

    const first = await interruptedUpload(args, envOf(user, home), 50);
    expect(first.code, first.stderr).toBe(EXIT_CODES.interrupted);
    const stopped = jsonOf(first);
    expect(stopped.error).toMatchObject({ code: 'interrupted' });
    const staged = stopped.error.details.blocks_staged as number;
    const [{ record }] = resumeRecords(home.dir) as [ReturnType<typeof resumeRecords>[number]];
    expect(Object.keys(record.blocks)).toHaveLength(staged);
    const totalBlocks = Math.ceil(statSync(path).size / (4 * 1024 * 1024));
    expect(staged).toBeGreaterThanOrEqual(totalBlocks / 2 - 4);
    expect(staged).toBeLessThan(totalBlocks);

    // What storage holds: every recorded block, and at most the blocks that were in flight besides.
    const blob = BlobServiceClient.fromConnectionString(inject('storageConnectionString'))
      .getContainerClient('uploads')
      .getBlockBlobClient(stagingNameOf({ upload: { url: record.upload_url } }));
    const uncommitted = (await blob.getBlockList('uncommitted')).uncommittedBlocks ?? [];
    expect(uncommitted.length).toBeGreaterThanOrEqual(staged);
    expect(uncommitted.length - staged).toBeLessThanOrEqual(4);

    const second = await runCli([...args, '--wait'], envOf(user, home));
    expect(second.code, second.stderr).toBe(EXIT_CODES.ok);
    const result = jsonOf(second);
    expect(result.session).toMatchObject({ id: stopped.error.details.session_id, status: 'ready', size_bytes: statSync(path).size });
    expect(result.session.sha256).toBe(await sha256File(path));
    // Only the blocks not recorded are sent again: none twice beyond those in flight at the interruption.
    expect(result.upload).toMatchObject({ resumed: true, blocks: totalBlocks, blocks_reused: staged, blocks_uploaded: totalBlocks - staged });
    expect(resumeRecords(home.dir)).toEqual([]);
  }, 300_000);

  it.each([
    ['before it starts (the record says it expired)', true],
    ['when storage refuses it mid-upload (403)', false],
  ])('renews an expired upload URL %s, for the same blob, keeping the blocks staged through the old one', async (_when, pastExpiry) => {
    const user = await createTestUser();
    const home = cliHome();
    const path = join(home.dir, 'medium.jsonl');
    writeLargeTrace(path, 24 * 1024 * 1024);
    const args = ['upload', path, '--suite', 'Gmail', '--json', '--block-size', '1', '--concurrency', '2'];
    const first = await interruptedUpload(args, envOf(user, home), 30);
    expect(first.code, first.stderr).toBe(EXIT_CODES.interrupted);
    const staged = jsonOf(first).error.details.blocks_staged as number;
    expect(staged).toBeGreaterThan(0);

    // The URL as if its hour had passed: refused by storage (its signature broken), and expired by the record or not.
    const [{ path: recordPath, record }] = resumeRecords(home.dir) as [ReturnType<typeof resumeRecords>[number]];
    const url = new URL(record.upload_url);
    url.searchParams.set('sig', Buffer.from('expired').toString('base64'));
    const expiresAt = pastExpiry ? new Date(Date.now() - 60_000).toISOString() : record.expires_at;
    writeFileSync(recordPath, JSON.stringify({ ...record, upload_url: url.toString(), expires_at: expiresAt }));

    const second = await runCli([...args, '--wait'], envOf(user, home));
    expect(second.code, second.stderr).toBe(EXIT_CODES.ok);
    expect(second.stderr).toMatch(/upload URL expired/);
    const result = jsonOf(second);
    expect(result.upload).toMatchObject({ resumed: true, url_renewed: true, blocks_reused: staged });
    expect(result.session).toMatchObject({ status: 'ready', sha256: await sha256File(path) });
  }, 300_000);
});

describe('exit codes and --json', () => {
  it('answers bad arguments with 2 before sending anything', async () => {
    const user = await createTestUser();
    const home = cliHome();
    const env = envOf(user, home);
    const sample = join(SAMPLES, 'recorder-session.jsonl');
    for (const args of [
      ['upload', sample],
      ['upload', sample, '--suite', 'Gmail', '--concurrency', '0'],
      ['upload', join(home.dir, 'missing.jsonl'), '--suite', 'Gmail'],
      ['upload', sample, '--suite', 'Gmail', '--format', 'pdf'],
      ['examples', 'download', GMAIL_SUITE_ID, '--format', 'nope'],
      ['datasets', 'create', '--name', 'x'],
      ['no-such-command'],
    ]) {
      const run = await runCli([...args, '--json'], env);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(EXIT_CODES.usage);
      expect(jsonOf(run).error.code).toBe('usage_error');
    }
    const unknownSuite = await runCli(['upload', sample, '--suite', 'No Such Suite'], env);
    expect(unknownSuite.code).toBe(EXIT_CODES.usage);
    const noKey = await runCli(['sessions', 'list'], envOf(null, home));
    expect(noKey.code).toBe(EXIT_CODES.usage);
    expect(noKey.stderr).toMatch(/TRACEPIPE_API_KEY/);
    expect(resumeRecords(home.dir)).toEqual([]);
  });

  it('answers a bad key with 3 and the API\'s code, and an unknown session with 3 not_found', async () => {
    const home = cliHome();
    const badKey = await runCli(['sessions', 'list'], { ...home.env, TRACEPIPE_API_KEY: `tp_live_sk_${'x'.repeat(43)}` });
    expect(badKey.code).toBe(EXIT_CODES.api);
    expect(badKey.stderr).toMatch(/error unauthorized/);
    const badKeyJson = await runCli(['usage', '--json'], { ...home.env, TRACEPIPE_API_KEY: 'tp_live_sk_nope' });
    expect(badKeyJson.code).toBe(EXIT_CODES.api);
    expect(jsonOf(badKeyJson).error.code).toBe('unauthorized');

    const user = await createTestUser();
    const missing = await runCli(['sessions', 'get', '00000000-0000-4000-8000-000000000999', '--json'], envOf(user, home));
    expect(missing.code).toBe(EXIT_CODES.api);
    expect(jsonOf(missing).error.code).toBe('not_found');
    const notReady = await runCli(['examples', 'download', '00000000-0000-4000-8000-000000000999'], envOf(user, home));
    expect(notReady.code).toBe(EXIT_CODES.api);
    expect(notReady.stderr).toMatch(/error not_found/);
  });

  it('answers an unreachable API with 5', async () => {
    const home = cliHome();
    const run = await runCli(['sessions', 'list', '--base-url', 'http://127.0.0.1:9'], { ...home.env, TRACEPIPE_API_KEY: 'tp_live_sk_x' });
    expect(run.code).toBe(EXIT_CODES.network);
  }, 120_000);

  it('logs in with a key it checks, then works from the config file alone; --json output parses', async () => {
    const user = await createTestUser();
    const home = cliHome();
    const refused = await runCli(['login'], home.env, 'tp_live_sk_wrong\n');
    expect(refused.code).toBe(EXIT_CODES.api);
    const login = await runCli(['login', '--json'], home.env, `${user.key}\n`);
    expect(login.code, login.stderr).toBe(EXIT_CODES.ok);
    expect(jsonOf(login).user.id).toBe(user.userId);
    expect(statSync(home.env.TRACEPIPE_CONFIG as string).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(home.env.TRACEPIPE_CONFIG as string, 'utf8'))).toMatchObject({ api_key: user.key, base_url: inject('apiUrl') });

    const env = { ...home.env, TRACEPIPE_BASE_URL: undefined };
    const upload = await runCli(['upload', join(SAMPLES, 'recorder-session.jsonl'), '--suite', 'Gmail', '--json'], env);
    expect(upload.code, upload.stderr).toBe(EXIT_CODES.ok);
    const sessionId = jsonOf(upload).session.id as string;
    const list = await runCli(['sessions', 'list', '--json'], env);
    expect(jsonOf(list)).toMatchObject({ total: 1, items: [{ id: sessionId }] });
    const table = await runCli(['sessions', 'list'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+FORMAT/);
    expect(table.stdout).toContain(sessionId);

    const created = jsonOf(await runCli(['keys', 'create', '--name', 'from the cli', '--json'], env));
    expect(created).toMatchObject({ name: 'from the cli', scopes: ['api'] });
    expect(created.key).toMatch(/^tp_live_sk_/);
    expect(jsonOf(await runCli(['keys', 'list', '--json'], env)).items.map((key: { id: string }) => key.id)).toContain(created.id);
    const revoked = await runCli(['keys', 'revoke', created.id, '--json'], env);
    expect(jsonOf(revoked)).toEqual({ id: created.id, revoked: true });
    const withRevoked = await runCli(['usage', '--json'], { ...env, TRACEPIPE_API_KEY: created.key });
    expect(withRevoked.code).toBe(EXIT_CODES.api);
    const usage = jsonOf(await runCli(['usage', '--json'], env));
    expect(usage).toMatchObject({ sessions_uploaded: expect.any(Number), estimated_cost: { currency: expect.any(String) } });
  });
});

describe('examples and datasets', () => {
  it('creates an example by model name, downloads messages raw and as openai, builds a dataset and downloads it', async () => {
    const user = await createTestUser();
    const home = cliHome();
    const env = envOf(user, home);
    const sessionId = await createSessionRow(user.userId, GMAIL_SUITE_ID);
    const created = await runCli(['examples', 'create', '--session', sessionId, '--model', 'openai/gpt-4o', '--json'], env);
    expect(created.code, created.stderr).toBe(EXIT_CODES.ok);
    expect(jsonOf(created)).toMatchObject({ session_id: sessionId, status: 'PENDING' });

    const exampleIds: string[] = [];
    for (let n = 1; n <= 3; n += 1) exampleIds.push(await addStoredExample(user, gmailConversation(n)));
    const raw = join(home.dir, 'raw.jsonl');
    const download = await runCli(['examples', 'download', exampleIds[0] as string, '-o', raw, '--json'], env);
    expect(download.code, download.stderr).toBe(EXIT_CODES.ok);
    expect(readFileSync(raw, 'utf8')).toBe(jsonl(gmailConversation(1)));
    expect(jsonOf(download)).toMatchObject({ example_id: exampleIds[0], format: 'raw', size_bytes: statSync(raw).size });
    const openai = await runCli(['examples', 'download', exampleIds[1] as string, '--format', 'openai'], env);
    expect(openai.code, openai.stderr).toBe(EXIT_CODES.ok);
    expect(JSON.parse(openai.stdout)).toMatchObject({ messages: expect.any(Array), tools: expect.any(Array) });

    const dataset = await runCli(['datasets', 'create', '--name', 'cli', '--format', 'openai', '--suite', 'Gmail', '--wait', '--json'], env);
    expect(dataset.code, dataset.stderr).toBe(EXIT_CODES.ok);
    const built = jsonOf(dataset);
    expect(built).toMatchObject({ status: 'ready', counts: { train: 3 } });
    const train = join(home.dir, 'train.jsonl');
    expect((await runCli(['datasets', 'download', built.id, '-o', train], env)).code).toBe(EXIT_CODES.ok);
    expect(readFileSync(train, 'utf8').trimEnd().split('\n')).toHaveLength(3);
    expect(createHash('sha256').update(readFileSync(train)).digest('hex')).toBe(built.files.train.sha256);
    const got = await runCli(['datasets', 'get', built.id], env);
    expect(got.stdout).toMatch(/status:\s+ready/);
  }, 120_000);
});

describe('a file over the upload limit', () => {
  it('is refused with 2 once the API says its limit, and the session that answer made is deleted', { timeout: 120_000 }, async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'tracepipe-cli-limit-'));
    const key = generateApiKeySecret();
    const api = await spawnApi({
      env: {
        DATABASE_URL: database.url,
        DATABASE_POOL_MAX: '2',
        AZURE_STORAGE_CONNECTION_STRING: inject('storageConnectionString'),
        API_KEY_HMAC_SECRET: generateApiKeySecret(),
        TRACEPIPE_DEV_API_KEY: key,
        TRACEPIPE_ENV: 'test',
        TRACEPIPE_DATA_DIR: join(dataDir, 'data'),
        SESSION_UPLOAD_MAX_BYTES: '1000',
      },
    });
    try {
      const home = cliHome();
      const sample = join(SAMPLES, 'recorder-session.jsonl');
      expect(statSync(sample).size).toBeGreaterThan(1000);
      const run = await runCli(['upload', sample, '--suite', 'Gmail', '--json'], { ...home.env, TRACEPIPE_API_KEY: key, TRACEPIPE_BASE_URL: api.url });
      expect(run.code, run.stderr).toBe(EXIT_CODES.usage);
      expect(jsonOf(run).error).toMatchObject({ code: 'payload_too_large', details: { max_bytes: 1000 } });
      const listed = await fetch(`${api.url}/v1/sessions?include_deleted=true`, { headers: { 'X-API-Key': key } });
      const sessions = ((await listed.json()) as { items: Array<{ status: string; file_name?: string }> }).items;
      expect(sessions.filter((session) => session.status !== 'deleted' && session.status !== 'ready')).toEqual([]);
      expect(sessions.some((session) => session.status === 'deleted')).toBe(true);
    } finally {
      await api.stop();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
