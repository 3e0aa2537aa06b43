import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

/*
 * GET /v1/docs in a real browser: Debian's headless Chromium (.ci/run installs it), driven by playwright-core. The
 * page is loaded under a host name other than localhost, where Swagger UI by default asks validator.swagger.io
 * about the document: every request must go to the API's own origin, and the operations must render.
 */

const CHROMIUM = '/usr/bin/chromium';
const DOCS_HOST = 'docs.tracepipe.test';

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // No --user-data-dir: launch() gives the browser a fresh, empty profile of its own and removes it after.
      // Our host name is the API; every other name fails to resolve, so a stray request leaves the machine never.
      `--host-resolver-rules=MAP ${DOCS_HOST} 127.0.0.1, MAP * ~NOTFOUND`,
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('the interactive reference in Chromium', () => {
  it('renders the operations under a non-localhost name and asks nothing of any other origin', async () => {
    const api = new URL(inject('apiUrl'));
    const origin = `http://${DOCS_HOST}:${api.port}`;
    const page = await browser.newPage();
    const requested: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    try {
      const response = await page.goto(`${origin}/v1/docs`, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      await page.waitForSelector('.opblock', { timeout: 20_000 });
      await page.waitForLoadState('networkidle');
      expect(await page.locator('.opblock').count()).toBeGreaterThan(30);
      expect(await page.locator('.opblock-summary-path', { hasText: '/v1/suites' }).count()).toBeGreaterThan(0);

      const elsewhere = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
      expect(elsewhere).toEqual([]);
      expect(requested).toContain(`${origin}/v1/openapi.json`);
      // Nothing was blocked by the page's Content-Security-Policy, and nothing failed.
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
