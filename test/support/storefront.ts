import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the storefront: a page server on loopback, reached by the browser as `http://storefront.test:<port>`
 * (and as `http://elsewhere.test:<port>`, an origin the API does not allow). Its origin is what the test API allows
 * (CORS_ALLOWED_ORIGINS in globalSetup.ts). Loopback on both sides, so that Chromium's local network access rules
 * (a public page may not call a loopback address) do not come into it.
 */
export const STOREFRONT_HOST = 'storefront.test';
export const OTHER_SITE_HOST = 'elsewhere.test';

export interface StorefrontPage {
  port: number;
  origin: string;
  close(): Promise<void>;
}

export async function startStorefrontPage(): Promise<StorefrontPage> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>storefront</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://${STOREFRONT_HOST}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
