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

const distDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

export function renderDocsPage(openApiUrl: string, assetBase: string): string {
  return `<!doctype html>
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
  <script>
    window.ui = SwaggerUIBundle({
      url: ${JSON.stringify(openApiUrl)},
      dom_id: '#swagger-ui',
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'StandaloneLayout'
    });
  </script>
</body>
</html>
`;
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
