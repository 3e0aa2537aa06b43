import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../dev/embedded/azurite.js';
import { runToExit, spawnLocalHost, type ApiProcess } from '../support/apiProcess.js';

/**
 * The local Functions host, end to end: each fixture app (plain ESM JavaScript under test/fixtures) runs in its own
 * host process (the library keeps module state, so one app per process), against an in-memory Azurite, and is
 * called over HTTP and through storage as clients and Azure would.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const classicApp = join(repoRoot, 'test', 'fixtures', 'host-classic');
const streamApp = join(repoRoot, 'test', 'fixtures', 'host-stream');

// ---------------------------------------------------------------------------------------------------------------
// Harness

/** A fixture app in a host process of its own (dist is built by the suite's globalSetup). */
function startHostProcess(appDir: string, env: Record<string, string>): Promise<ApiProcess> {
  return spawnLocalHost(env, { appDir, args: ['--blob-poll-ms', '250', '--queue-poll-ms', '250'], timeoutMs: 30_000 });
}

/** Polls `probe` until it answers something other than undefined; fails after `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface FixtureRecord {
  fn: string;
  [key: string]: unknown;
}

async function recordsOf(host: ApiProcess, fn?: string): Promise<FixtureRecord[]> {
  const response = await fetch(`${host.url}/api/test/records`);
  const all = (await response.json()) as FixtureRecord[];
  return fn ? all.filter((r) => r.fn === fn) : all;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

// ---------------------------------------------------------------------------------------------------------------

let azurite: RunningAzurite;
let blobs: BlobServiceClient;
let queues: QueueServiceClient;

beforeAll(async () => {
  azurite = await startAzurite();
  blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
  queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
});

afterAll(async () => {
  await azurite?.stop();
});

/** Event Grid subscriptions the classic app's host delivers: `.json` blobs of `evented`, and one nobody reads. */
const EVENT_GRID_SUBSCRIPTIONS = JSON.stringify([
  { name: 'evented-json', queue: 'blob-events', subjectBeginsWith: '/blobServices/default/containers/evented/blobs/', subjectEndsWith: '.json' },
  { name: 'unread', queue: 'nobody-reads-this', subjectBeginsWith: '/blobServices/default/containers/evented/blobs/' },
]);

describe('local Functions host, classic HTTP and storage triggers', () => {
  let host: ApiProcess;
  const classicEnv = () => ({ AzureWebJobsStorage: azurite.connectionString, LOCAL_EVENT_GRID_SUBSCRIPTIONS: EVENT_GRID_SUBSCRIPTIONS });

  beforeAll(async () => {
    host = await startHostProcess(classicApp, classicEnv());
  });

  afterAll(async () => {
    await host?.terminate();
  });

  describe('HTTP routing', () => {
    it('prefers a literal segment over a parameter, and a parameter over the catch-all', async () => {
      const literal = await fetch(`${host.url}/api/v1/items/new`);
      expect(literal.status).toBe(200);
      expect(await literal.json()).toEqual({ route: 'itemsNew' });

      const param = await fetch(`${host.url}/api/v1/items/42`);
      expect(param.status).toBe(200);
      expect(await param.json()).toEqual({ route: 'itemById', id: '42', method: 'GET' });

      const fallback = await fetch(`${host.url}/api/v1/orders/42`);
      expect(fallback.status).toBe(404);
      expect(await fallback.json()).toEqual({ error: 'not_found', path: 'v1/orders/42' });
    });

    it('fills optional parameters and checks constraints', async () => {
      const withVersion = await fetch(`${host.url}/api/v1/items/7/versions/3`);
      expect(await withVersion.json()).toEqual({ route: 'itemVersions', id: '7', version: '3' });
      const withoutVersion = await fetch(`${host.url}/api/v1/items/7/versions`);
      expect(await withoutVersion.json()).toEqual({ route: 'itemVersions', id: '7', version: null });
      // {id:int} rejects "abc", so the request falls through to the catch-all.
      const notInt = await fetch(`${host.url}/api/v1/items/abc/versions/3`);
      expect(notInt.status).toBe(404);
      expect(await notInt.json()).toEqual({ error: 'not_found', path: 'v1/items/abc/versions/3' });
    });

    it('matches literals case-insensitively and lets a wrong method fall through to the catch-all', async () => {
      expect(await (await fetch(`${host.url}/API/V1/Items/NEW`)).json()).toEqual({ route: 'itemsNew' });
      const deleted = await fetch(`${host.url}/api/v1/items/9`, { method: 'DELETE' });
      expect(await deleted.json()).toEqual({ route: 'itemById', id: '9', method: 'DELETE' });
      const patched = await fetch(`${host.url}/api/v1/items/9`, { method: 'PATCH' });
      expect(patched.status).toBe(404);
      expect(await patched.json()).toEqual({ error: 'not_found', path: 'v1/items/9' });
    });

    it('serves functions under the default "api" prefix only; anything else is an empty 404', async () => {
      const noPrefix = await fetch(`${host.url}/v1/items/new`);
      expect(noPrefix.status).toBe(404);
      expect(await noPrefix.text()).toBe('');
      const headOnCatchAll = await fetch(`${host.url}/api/v1/items/new`, { method: 'HEAD' });
      expect(headOnCatchAll.status).toBe(404); // no function takes HEAD: host 404
      const defaultRoute = await fetch(`${host.url}/api/DefaultRoute`);
      expect(defaultRoute.status).toBe(200);
      expect(await defaultRoute.text()).toBe('default route');
    });
  });

  describe('HTTP requests and responses', () => {
    it('passes query, headers and a JSON body, and returns status, headers and cookies', async () => {
      const response = await fetch(`${host.url}/api/echo?a=1&a=2&b=x`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-test': 'hello' },
        body: JSON.stringify({ k: [1, 2] }),
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('x-echo')).toBe('yes');
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(response.headers.getSetCookie()).toEqual(['session=abc%201; max-age=60; path=/; samesite=lax; httponly']);
      expect(await response.json()).toEqual({
        method: 'POST',
        url: `${host.url}/api/echo?a=1&a=2&b=x`,
        query: { a: '1,2', b: 'x' },
        header: 'hello',
        // A W3C traceparent, fresh for each invocation, as the Functions host sends.
        traceParent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
        json: { k: [1, 2] },
      });
    });

    it('passes text and binary bodies byte for byte', async () => {
      const text = await fetch(`${host.url}/api/echo`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'grüße\nzwei',
      });
      const textEcho = (await text.json()) as { traceParent: string };
      expect(textEcho).toMatchObject({ method: 'PUT', text: 'grüße\nzwei' });

      const bytes = randomBytes(300_000);
      const binary = await fetch(`${host.url}/api/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      const binaryEcho = (await binary.json()) as { traceParent: string };
      // Each invocation has a trace of its own.
      expect(binaryEcho.traceParent).not.toBe(textEcho.traceParent);
      expect(binaryEcho).toMatchObject({
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    });

    it('returns binary bodies and empty 204s', async () => {
      const binary = await fetch(`${host.url}/api/binary`);
      expect(binary.headers.get('content-type')).toBe('application/octet-stream');
      expect(Buffer.from(await binary.arrayBuffer())).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
      const noContent = await fetch(`${host.url}/api/v1/things/1`, { method: 'DELETE' });
      expect(noContent.status).toBe(204);
      expect(await noContent.text()).toBe('');
    });

    it('answers a failing function with an empty 500 and logs the error under the function name', async () => {
      const response = await fetch(`${host.url}/api/fail`);
      expect(response.status).toBe(500);
      expect(await response.text()).toBe('');
      const output = await eventually('the failure in the log', async () =>
        /\[fail\] Executed 'Functions.fail' \(Failed/.test(host.output()) ? host.output() : undefined,
      );
      expect(output).toMatch(/\[fail\] Exception: handler exploded on purpose/);
    });

    it("prints context.log lines prefixed with the function's name", async () => {
      await fetch(`${host.url}/api/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      await eventually('the echo log line', async () => (/\] \[echo\] echo handled POST/.test(host.output()) ? true : undefined));
    });
  });

  describe('blob trigger', () => {
    it('fires once per new blob, again when the blob changes, and keeps a receipt', async () => {
      const uploads = blobs.getContainerClient('uploads');
      await uploads.createIfNotExists();
      const first = `once/${randomUUID()}.txt`;
      await uploads.getBlockBlobClient(first).upload('version one', 11);
      const fired = await eventually('the blob trigger', async () => {
        const seen = (await recordsOf(host, 'onUpload')).filter((r) => r.name === first);
        return seen.length > 0 ? seen : undefined;
      });
      expect(fired[0]).toMatchObject({ blobTrigger: `uploads/${first}`, isBuffer: true, text: 'version one', length: 11 });

      // Another blob fires after later scans; the first one still fired exactly once.
      const second = `once/${randomUUID()}.txt`;
      await uploads.getBlockBlobClient(second).upload('other', 5);
      await eventually('the second blob', async () =>
        (await recordsOf(host, 'onUpload')).some((r) => r.name === second) ? true : undefined,
      );
      expect((await recordsOf(host, 'onUpload')).filter((r) => r.name === first)).toHaveLength(1);

      const receipts: string[] = [];
      for await (const item of blobs.getContainerClient('azure-webjobs-hosts').listBlobsFlat({ prefix: 'blobreceipts/' })) {
        receipts.push(item.name);
      }
      const etag = String(fired[0]?.etag).replace(/"/g, '');
      expect(receipts.some((name) => name.endsWith(`/Host.Functions.onUpload/${etag}/uploads/${first}`))).toBe(true);

      // Overwriting gives a new ETag: the function runs again.
      await uploads.getBlockBlobClient(first).upload('version two!', 12);
      const again = await eventually('the changed blob', async () => {
        const seen = (await recordsOf(host, 'onUpload')).filter((r) => r.name === first);
        return seen.length >= 2 ? seen : undefined;
      });
      expect(again).toHaveLength(2);
      expect(again[1]).toMatchObject({ text: 'version two!' });
      expect(again[1]?.etag).not.toBe(again[0]?.etag);
    });

    it('retries a failing blob function 5 times in all, then writes to webjobs-blobtrigger-poison', async () => {
      const container = blobs.getContainerClient('poison-in');
      await container.createIfNotExists();
      const dir = randomUUID();
      await container.getBlockBlobClient(`${dir}/data.jsonl`).upload('{}\n', 3);
      const poisonQueue = queues.getQueueClient('webjobs-blobtrigger-poison');
      const message = await eventually('the poison message', async () => {
        if (!(await poisonQueue.exists())) return undefined;
        const peeked = await poisonQueue.peekMessages({ numberOfMessages: 32 });
        return peeked.peekedMessageItems
          .map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as Record<string, unknown>)
          .find((m) => m.BlobName === `${dir}/data.jsonl`);
      });
      expect(message).toMatchObject({
        FunctionId: 'Host.Functions.onPoisonBlob',
        BlobType: 'BlockBlob',
        ContainerName: 'poison-in',
        BlobName: `${dir}/data.jsonl`,
      });
      expect(String(message.ETag)).toMatch(/^"0x[0-9A-F]+"$/);
      expect((await recordsOf(host, 'onPoisonBlob')).filter((r) => r.dir === dir)).toHaveLength(5);
    });
  });

  describe('Event Grid BlobCreated events to a Storage queue (LOCAL_EVENT_GRID_SUBSCRIPTIONS)', () => {
    interface DeliveredEvent {
      id: string;
      topic: string;
      subject: string;
      eventType: string;
      eventTime: string;
      data: { api: string; eTag: string; contentLength: number; blobType: string; url: string; contentType: string };
      dataVersion: string;
      metadataVersion: string;
    }
    const eventsFor = async (name: string) =>
      (await recordsOf(host, 'onBlobEvent'))
        .map((r) => r.event as DeliveredEvent)
        .filter((event) => event.subject === `/blobServices/default/containers/evented/blobs/${name}`);

    it('puts one Event Grid-schema message on the queue per committed blob version that passes the subject filter', async () => {
      const container = blobs.getContainerClient('evented');
      await container.createIfNotExists();
      const name = `a/${randomUUID()}/trace.json`;
      const written = await container.getBlockBlobClient(name).upload('{"v":1}', 7);
      const [event] = await eventually('the BlobCreated event', async () => {
        const seen = await eventsFor(name);
        return seen.length > 0 ? seen : undefined;
      });
      expect(event).toMatchObject({
        eventType: 'Microsoft.Storage.BlobCreated',
        topic: expect.stringMatching(/\/providers\/Microsoft\.Storage\/storageAccounts\/devstoreaccount1$/),
        data: {
          api: 'PutBlockList',
          eTag: String(written.etag).replace(/"/g, ''),
          contentLength: 7,
          blobType: 'BlockBlob',
          url: container.getBlobClient(name).url,
        },
        dataVersion: '',
        metadataVersion: '1',
      });
      expect(Date.parse(String(event?.eventTime))).toBe(written.lastModified?.getTime());

      // Outside the filter (subjectEndsWith .json): no event. Overwritten: one more, for the new version.
      const other = `a/${randomUUID()}/notes.txt`;
      await container.getBlockBlobClient(other).upload('x', 1);
      const rewritten = await container.getBlockBlobClient(name).upload('{"v":2}!', 8);
      const both = await eventually('the second version\'s event', async () => {
        const seen = await eventsFor(name);
        return seen.length >= 2 ? seen : undefined;
      });
      expect(both.map((e) => e.data.eTag)).toEqual([String(written.etag), String(rewritten.etag)].map((etag) => etag.replace(/"/g, '')));
      expect(new Set(both.map((e) => e.id)).size).toBe(2);
      expect(await eventsFor(other)).toEqual([]);
      expect(host.output()).toMatch(/Event Grid subscription unread: no queue trigger reads queue nobody-reads-this/);
      expect(await queues.getQueueClient('nobody-reads-this').exists()).toBe(false);
    });

    it('refuses to start on a subscription setting it cannot read, naming the setting', async () => {
      const run = await runToExit({
        script: 'dist/dev/host/cli.js',
        args: ['--app', classicApp, '--port', '0'],
        env: {
          AzureWebJobsStorage: azurite.connectionString,
          LOCAL_EVENT_GRID_SUBSCRIPTIONS: JSON.stringify([{ name: 'x', queue: 'blob-events', subjectBeginsWith: '' }]),
        },
        timeoutMs: 20_000,
      });
      expect(run.code).toBe(1);
      expect(run.output).toMatch(/LOCAL_EVENT_GRID_SUBSCRIPTIONS: 0\.name must be 3 to 64 letters/);
    });
  });

  describe('timer trigger', () => {
    it('fires a */1 second schedule repeatedly, and runOnStartup once', async () => {
      const ticks = await eventually('two timer ticks', async () => {
        const seen = await recordsOf(host, 'everySecond');
        return seen.length >= 2 ? seen : undefined;
      });
      expect(ticks.every((t) => t.isPastDue === false)).toBe(true);
      const startup = await recordsOf(host, 'onStartup');
      expect(startup).toHaveLength(1);
      expect(startup[0]?.timer).toMatchObject({
        isPastDue: false,
        schedule: { adjustForDST: true },
        scheduleStatus: { last: expect.any(String), next: expect.any(String), lastUpdated: expect.any(String) },
      });
    });
  });

  describe('queue trigger', () => {
    it('passes a base64 JSON message as an object and deletes it after success', async () => {
      const queue = queues.getQueueClient('work-items');
      await queue.createIfNotExists();
      const marker = randomUUID();
      await queue.sendMessage(b64(JSON.stringify({ kind: 'index', marker, n: 1 })));
      const seen = await eventually('the queue trigger', async () =>
        (await recordsOf(host, 'onWorkItem')).find((r) => (r.message as { marker?: string })?.marker === marker),
      );
      expect(seen).toMatchObject({ type: 'object', message: { kind: 'index', marker, n: 1 }, dequeueCount: 1, hasPopReceipt: true });
      await eventually('the message to be deleted', async () =>
        (await queue.getProperties()).approximateMessagesCount === 0 ? true : undefined,
      );
    });

    it('moves a message that keeps failing to <queue>-poison after 5 dequeues', async () => {
      const queue = queues.getQueueClient('bad-items');
      await queue.createIfNotExists();
      const text = b64(JSON.stringify({ bad: randomUUID() }));
      await queue.sendMessage(text);
      const poison = queues.getQueueClient('bad-items-poison');
      const moved = await eventually('the queue poison message', async () => {
        if (!(await poison.exists())) return undefined;
        return (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.find((m) => m.messageText === text);
      });
      expect(moved.messageText).toBe(text);
      expect(await recordsOf(host, 'onBadItem')).toHaveLength(5);
    });
  });

  describe('admin API', () => {
    it('lists functions and runs a timer or queue function on demand', async () => {
      const list = await fetch(`${host.url}/admin/functions`);
      expect(list.status).toBe(200);
      const functions = (await list.json()) as Array<{ name: string; config: { bindings: Array<{ type: string }> } }>;
      expect(functions.find((f) => f.name === 'manualTimer')?.config.bindings[0]?.type).toBe('timerTrigger');

      const invoked = await fetch(`${host.url}/admin/functions/manualTimer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: '' }),
      });
      expect(invoked.status).toBe(202);
      const run = await eventually('the admin-invoked timer', async () => (await recordsOf(host, 'manualTimer'))[0]);
      expect(run.timer).toMatchObject({ isPastDue: false });

      const viaQueue = await fetch(`${host.url}/admin/functions/onWorkItem`, {
        method: 'POST',
        body: JSON.stringify({ input: JSON.stringify({ via: 'admin' }) }),
      });
      expect(viaQueue.status).toBe(202);
      await eventually('the admin-invoked queue function', async () =>
        (await recordsOf(host, 'onWorkItem')).find((r) => (r.message as { via?: string })?.via === 'admin'),
      );

      expect((await fetch(`${host.url}/admin/functions/noSuchFunction`, { method: 'POST', body: '{}' })).status).toBe(404);
    });
  });

  describe('restart and shutdown', () => {
    it('stops on SIGTERM with exit code 0, and a restarted host does not re-fire handled blobs', async () => {
      const uploads = blobs.getContainerClient('uploads');
      await uploads.createIfNotExists();
      const before = `restart/${randomUUID()}.txt`;
      await uploads.getBlockBlobClient(before).upload('before', 6);
      await eventually('the blob before restart', async () =>
        (await recordsOf(host, 'onUpload')).some((r) => r.name === before) ? true : undefined,
      );

      const exit = await host.terminate();
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(host.output()).toContain('fixture: appTerminate hook ran');
      expect(host.output()).toContain('Host stopped.');

      host = await startHostProcess(classicApp, classicEnv());
      const after = `restart/${randomUUID()}.txt`;
      await uploads.getBlockBlobClient(after).upload('after', 5);
      await eventually('the blob after restart', async () =>
        (await recordsOf(host, 'onUpload')).some((r) => r.name === after) ? true : undefined,
      );
      // The scan that found `after` also listed every earlier blob: none of them fired again.
      const refired = (await recordsOf(host, 'onUpload')).filter((r) => r.name !== after);
      expect(refired).toEqual([]);
      expect(await recordsOf(host, 'onPoisonBlob')).toEqual([]);
      // Nor did the local Event Grid deliver again what it had delivered before the restart.
      expect(await recordsOf(host, 'onBlobEvent')).toEqual([]);
    });
  });
});

describe('local Functions host, HTTP streaming (app.setup({ enableHttpStream: true }))', () => {
  let host: ApiProcess;

  beforeAll(async () => {
    host = await startHostProcess(streamApp, { AzureWebJobsStorage: azurite.connectionString });
  });

  afterAll(async () => {
    const exit = await host?.terminate();
    expect(exit?.code).toBe(0);
  });

  it('streams a 50 MB request body to the handler while it is still being uploaded', async () => {
    const id = randomUUID();
    const chunkSize = 1024 * 1024;
    const totalChunks = 50;
    const hash = createHash('sha256');
    const req = httpRequest(`${host.url}/hash/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
    });
    const failed = new Promise<never>((_, reject) => req.once('error', reject));
    const responded = Promise.race([once(req, 'response') as Promise<[IncomingMessage]>, failed]);
    failed.catch(() => undefined); // surfaced through `responded`
    const firstChunk = randomBytes(chunkSize);
    hash.update(firstChunk);
    req.write(firstChunk);
    // Only a host that forwards the body as it arrives lets the handler see bytes before the upload ends.
    const seenByHandler = await eventually('the handler to read the first bytes', async () => {
      const { bytes } = (await (await fetch(`${host.url}/progress/${id}`)).json()) as { bytes: number };
      return bytes > 0 ? bytes : undefined;
    });
    expect(seenByHandler).toBeLessThanOrEqual(chunkSize);
    for (let i = 1; i < totalChunks; i++) {
      const chunk = randomBytes(chunkSize);
      hash.update(chunk);
      if (!req.write(chunk)) await once(req, 'drain');
    }
    req.end();
    const [response] = await responded;
    expect(response.statusCode).toBe(200);
    let text = '';
    for await (const chunk of response) text += (chunk as Buffer).toString('utf8');
    expect(JSON.parse(text)).toEqual({ sha256: hash.digest('hex'), bytes: chunkSize * totalChunks });
  });

  it('streams a response: the client reads the first chunk before the handler produces the second', async () => {
    const id = randomUUID();
    const response = await fetch(`${host.url}/stream/${id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-streamed')).toBe('yes');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    expect(decoder.decode(first.value)).toBe('first chunk\n');

    const released = await fetch(`${host.url}/release/${id}`, { method: 'POST' });
    expect(released.status).toBe(204);
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
    expect(rest).toBe('second chunk\n');
  });

  it('passes route params, query, headers and body, and returns headers and cookies, with an empty route prefix', async () => {
    const response = await fetch(`${host.url}/echo/ada?q=42`, {
      method: 'POST',
      headers: { 'x-test': 'streamed', 'content-type': 'text/plain' },
      body: 'hello stream',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-echo')).toBe('yes');
    expect(response.headers.getSetCookie()).toEqual(['flavour=oat; Path=/']);
    expect(await response.json()).toEqual({
      name: 'ada',
      header: 'streamed',
      query: '42',
      url: `${host.url}/echo/ada?q=42`,
      text: 'hello stream',
    });
    const prefixed = await fetch(`${host.url}/api/echo/ada`, { method: 'POST', body: 'x' });
    expect(prefixed.status).toBe(404);
    expect(await prefixed.text()).toBe('');
  });

  it('serves the next requests after a handler answered without reading the whole body', async () => {
    for (let i = 0; i < 3; i++) {
      const early = await fetch(`${host.url}/read-some`, { method: 'POST', body: Buffer.alloc(1536 * 1024, 120) });
      expect(early.status).toBe(413);
      expect(((await early.json()) as { read: number }).read).toBeLessThan(1536 * 1024);
      // Before the fix, the host pooled the connection the library's server then dropped: this met ECONNRESET (500).
      const next = await fetch(`${host.url}/progress/${randomUUID()}`);
      expect(next.status).toBe(200);
    }
  });

  it('answers a failing streamed function with an empty 500', async () => {
    const response = await fetch(`${host.url}/fail`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('');
    await eventually('the failure in the log', async () =>
      /\[streamFail\] Exception: stream handler exploded on purpose/.test(host.output()) ? true : undefined,
    );
  });
});
