import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { ApiError } from '../errors/apiError.js';

/**
 * The interactive reference is Swagger UI from the `swagger-ui-dist` package, served by the function itself:
 * no CDN, so it works offline and behind firewalls.
 */
const ASSET_TYPES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

export const DOCS_ASSET_NAMES = Object.keys(ASSET_TYPES);

/** The media types the assets are served with, once each (for the OpenAPI document). */
export const DOCS_ASSET_MEDIA_TYPES = [...new Set(Object.values(ASSET_TYPES).map((type) => type.split(';')[0] as string))];

const distDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/**
 * The page's own script. `validatorUrl: null`: by default Swagger UI shows a badge that sends the document's URL to
 * validator.swagger.io whenever the page is not on localhost; the docs make no request to any other origin.
 */
function initScript(openApiUrl: string): string {
  return `
    window.ui = SwaggerUIBundle({
      url: ${JSON.stringify(openApiUrl)},
      dom_id: '#swagger-ui',
      deepLinking: true,
      persistAuthorization: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'StandaloneLayout'
    });
  `;
}

export interface DocsPage {
  html: string;
  /**
   * For the page's Content-Security-Policy header: only this origin may be reached, and only the page's own inline
   * script runs (by its hash). Swagger UI sets inline styles and draws its icons from data: URLs.
   */
  contentSecurityPolicy: string;
}

export function renderDocsPage(openApiUrl: string, assetBase: string): DocsPage {
  const script = initScript(openApiUrl);
  const scriptHash = createHash('sha256').update(script, 'utf8').digest('base64');
  const html = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Tracepipe API reference</title>
  <link rel="icon" type="image/png" href="${assetBase}/favicon-32x32.png" sizes="32x32">
  <link rel="stylesheet" href="${assetBase}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${assetBase}/swagger-ui-bundle.js"></script>
  <script src="${assetBase}/swagger-ui-standalone-preset.js"></script>
  <script>${script}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${scriptHash}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

export interface DocsAsset {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  size: number;
}

/** Streams one of the allow-listed Swagger UI files; any other name is 404 (no path ever reaches the disk). */
export async function openDocsAsset(name: string): Promise<DocsAsset> {
  const contentType = ASSET_TYPES[name];
  if (!contentType) throw ApiError.notFound(`No docs asset named ${name}.`);
  const path = join(distDir, name);
  const { size } = await stat(path);
  return { body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, contentType, size };
}
