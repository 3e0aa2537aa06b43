import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CORS_MAX_AGE_SECONDS } from '../../shared/http/cors.js';
import { OTHER_SITE_HOST, STOREFRONT_HOST } from '../support/storefront.js';

/*
 * CORS as the storefront's browser meets it: the test API allows the storefront stand-in's origin (CORS_ALLOWED_ORIGINS). Over
 * HTTP first (what the API answers), then in Debian's headless Chromium, which enforces CORS itself: a page of the
 * allowed origin calls the API with its key and reads a response header; a page of another origin cannot.
 */

const STOREFRONT_ORIGIN = inject('storefront').origin;
const OTHER_ORIGIN = `http://${OTHER_SITE_HOST}:${inject('storefront').port}`;

async function preflight(path: string, origin: string, method: string, headers = 'content-type, x-api-key') {
  return fetch(`${inject('apiUrl')}${path}`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
  });
}

describe('CORS preflights', () => {
  it('answers the storefront origin 204 with the methods, headers and max age it may use, on any route', async () => {
    for (const [path, method] of [['/v1/sessions', 'POST'], ['/v1/api-keys/00000000-0000-0000-0000-000000000000', 'DELETE'], ['/v1/users/me', 'GET']] as const) {
      const response = await preflight(path, STOREFRONT_ORIGIN, method, 'Content-Type, X-API-Key, Idempotency-Key, Authorization');
      expect(response.status, path).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(STOREFRONT_ORIGIN);
      expect(response.headers.get('access-control-allow-methods')?.split(', ')).toEqual(expect.arrayContaining([method]));
      expect(response.headers.get('access-control-allow-headers')?.toLowerCase().split(', ')).toEqual(
        expect.arrayContaining(['content-type', 'x-api-key', 'idempotency-key', 'authorization']),
      );
      expect(response.headers.get('access-control-max-age')).toBe(String(CORS_MAX_AGE_SECONDS));
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('vary')).toMatch(/Origin/);
      expect(await response.text()).toBe('');
    }
  });

  it('refuses another origin, a method or a header it does not allow: 403 in the error shape, nothing allowed', async () => {
    const other = await preflight('/v1/sessions', OTHER_ORIGIN, 'POST');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(await other.json()).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining(OTHER_ORIGIN) } });

    const method = await preflight('/v1/sessions', STOREFRONT_ORIGIN, 'TRACE');
    expect(method.status).toBe(403);
    expect(await method.json()).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining('TRACE') } });

    const header = await preflight('/v1/sessions', STOREFRONT_ORIGIN, 'POST', 'content-type, x-secret-thing');
    expect(header.status).toBe(403);
    expect(header.headers.get('access-control-allow-methods')).toBeNull();
    expect(await header.json()).toMatchObject({ error: { message: expect.stringContaining('x-secret-thing') } });
  });

  it('leaves an OPTIONS request that is no preflight to the catch-all: 404', async () => {
    const response = await fetch(`${inject('apiUrl')}/v1/sessions`, { method: 'OPTIONS' });
    expect(response.status).toBe(404);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS on actual responses', () => {
  it('lets the storefront origin read the answer and the exposed headers, errors included', async () => {
    const ok = await fetch(`${inject('apiUrl')}/v1/users/me`, { headers: { Origin: STOREFRONT_ORIGIN, 'X-API-Key': inject('apiKey') } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(STOREFRONT_ORIGIN);
    expect(ok.headers.get('access-control-expose-headers')?.split(', ')).toEqual(expect.arrayContaining(['X-Request-Id', 'Retry-After', 'X-RateLimit-Remaining']));
    expect(ok.headers.get('vary')).toMatch(/Origin/);

    const unauthenticated = await fetch(`${inject('apiUrl')}/v1/users/me`, { headers: { Origin: STOREFRONT_ORIGIN } });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('access-control-allow-origin')).toBe(STOREFRONT_ORIGIN);

    const notFound = await fetch(`${inject('apiUrl')}/v1/nothing-here`, { headers: { Origin: STOREFRONT_ORIGIN } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('access-control-allow-origin')).toBe(STOREFRONT_ORIGIN);
  });

  it('gives another origin, or a request without one, no CORS headers', async () => {
    const other = await fetch(`${inject('apiUrl')}/v1/users/me`, { headers: { Origin: OTHER_ORIGIN, 'X-API-Key': inject('apiKey') } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const plain = await fetch(`${inject('apiUrl')}/v1/users/me`, { headers: { 'X-API-Key': inject('apiKey') } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS in a browser', () => {
  const API_HOST = 'api.tracepipe.test';
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // Both sites are the page server on loopback; every other name fails, so nothing leaves the machine.
        `--host-resolver-rules=MAP ${STOREFRONT_HOST} 127.0.0.1, MAP ${OTHER_SITE_HOST} 127.0.0.1, MAP ${API_HOST} 127.0.0.1, MAP * ~NOTFOUND`,
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** A page of `origin` (the page server), which calls the API as the storefront's scripts would. */
  async function callFromPage(origin: string): Promise<{ ok: true; status: number; requestId: string | null; email: string } | { ok: false; error: string }> {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      return await page.evaluate(
        async ({ apiUrl, apiKey }) => {
          try {
            const response = await fetch(`${apiUrl}/v1/users/me`, { headers: { 'X-API-Key': apiKey } });
            const body = (await response.json()) as { email: string };
            return { ok: true as const, status: response.status, requestId: response.headers.get('x-request-id'), email: body.email };
          } catch (error) {
            return { ok: false as const, error: String(error) };
          }
        },
        { apiUrl: inject('apiUrl').replace('127.0.0.1', API_HOST), apiKey: inject('apiKey') },
      );
    } finally {
      await page.close();
    }
  }

  it('lets a page of the storefront origin call the API with its key (a preflighted request) and read its headers', async () => {
    const result = await callFromPage(STOREFRONT_ORIGIN);
    expect(result).toMatchObject({ ok: true, status: 200, requestId: expect.any(String), email: expect.any(String) });
  });

  it('stops a page of another origin: the browser refuses it the answer', async () => {
    expect(await callFromPage(OTHER_ORIGIN)).toEqual({ ok: false, error: 'TypeError: Failed to fetch' });
  });
});
