import { request, type IncomingMessage } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { STRIPE_WEBHOOK_MAX_BYTES } from '../../shared/billing/stripeEventVerification.js';
import { createTestUser } from '../support/users.js';

/*
 * Limits that hold before the bytes are read: a body's declared length over the limit is refused at once, a body
 * sent without one is cut where it crosses the limit, while the client is still sending. Raw HTTP here, since
 * fetch sends whole bodies and the point is what the server answers before the body ends.
 */

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: unknown;
}

function answerOf(response: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text ? JSON.parse(text) : undefined }));
    response.on('error', reject);
  });
}

/**
 * Sends `sendBytes` of body (chunked, or with the given Content-Length) and then keeps the request open: the
 * answer must come while the body has not ended. Rejects if none comes within the time given.
 */
function postWithoutEnding(
  path: string,
  options: { sendBytes: number; headers?: Record<string, string>; timeoutMs?: number },
): Promise<Answer> {
  const url = new URL(path, inject('apiUrl'));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...options.headers } });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer from ${path} before the body ended`));
    }, options.timeoutMs ?? 10_000);
    req.on('response', (response) => {
      clearTimeout(timer);
      answerOf(response).then(resolve, reject).finally(() => req.destroy());
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.flushHeaders();
    const chunk = Buffer.alloc(16 * 1024, 'x');
    for (let sent = 0; sent < options.sendBytes; sent += chunk.length) req.write(chunk);
  });
}

function expectTooLarge(answer: Answer, limit: number): void {
  expect(answer.status).toBe(413);
  expect(answer.body).toEqual({
    error: { code: 'payload_too_large', message: expect.any(String), details: { max_bytes: limit } },
  });
}

describe('POST /v1/webhooks/stripe (public)', () => {
  it('answers 413 to an unsigned body over its small limit while it is still being sent', async () => {
    const answer = await postWithoutEnding('/v1/webhooks/stripe', { sendBytes: STRIPE_WEBHOOK_MAX_BYTES + 64 * 1024 });
    expectTooLarge(answer, STRIPE_WEBHOOK_MAX_BYTES);
  });

  it('answers 413 at once to a declared length of 300 MB, before a byte of it arrives', async () => {
    const answer = await postWithoutEnding('/v1/webhooks/stripe', {
      sendBytes: 0,
      headers: { 'Content-Length': String(300 * 1024 * 1024) },
    });
    expectTooLarge(answer, STRIPE_WEBHOOK_MAX_BYTES);
  });
});

describe('other endpoints that read a body', () => {
  it('answer 413 in the error shape, on the stream, for JSON, MCP and A2P bodies', async () => {
    const { key } = await createTestUser({ scopes: ['api', 'catalog:write'] });
    const cases: Array<[string, number, Record<string, string>]> = [
      ['/v1/suites', 1024 * 1024, {}],
      ['/v1/mcp', 256 * 1024, { Accept: 'application/json, text/event-stream' }],
      ['/v1/a2p', 12 * 1024 * 1024, { 'A2A-Version': '1.0' }],
    ];
    for (const [path, limit, headers] of cases) {
      const answer = await postWithoutEnding(path, { sendBytes: limit + 32 * 1024, headers: { 'X-API-Key': key, ...headers } });
      expectTooLarge(answer, limit);
      // The caller was known by then: the answer counts against its rate limit and says so.
      expect(answer.headers['x-ratelimit-limit'], path).toBeDefined();
    }
  });

  it('answer 413 to a declared length over the limit before authenticating', async () => {
    const answer = await postWithoutEnding('/v1/suites', { sendBytes: 0, headers: { 'Content-Length': String(2 * 1024 * 1024) } });
    expectTooLarge(answer, 1024 * 1024);
  });
});

describe('request headers over the host limit', () => {
  it('are 431 in the error shape', async () => {
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = request(new URL('/v1/health', inject('apiUrl')), { headers: { 'X-Padding': 'p'.repeat(20 * 1024) } });
      req.on('response', (response) => answerOf(response).then(resolve, reject));
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(answer.headers['content-type']).toContain('application/json');
    expect(answer.body).toEqual({ error: { code: 'headers_too_large', message: expect.stringContaining('16384') } });
  });
});
