import { DOCS_ASSET_MEDIA_TYPES, DOCS_ASSET_NAMES, openDocsAsset, renderDocsPage } from '../shared/docs/swaggerUi.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { z } from '../shared/openapi/zod.js';

defineRoute({
  operationId: 'getDocs',
  method: 'GET',
  path: '/v1/docs',
  tags: ['Meta'],
  summary: 'Interactive API reference',
  description:
    'Swagger UI over /v1/openapi.json, served from the API itself (no CDN). The page makes no request to any other ' +
    'origin (its Content-Security-Policy allows only this one; no validator badge). Needs no API key.',
  auth: 'public',
  responses: { 200: { description: 'The reference page.', schema: z.string(), contentType: 'text/html' } },
  handler: async () => {
    const page = renderDocsPage('/v1/openapi.json', '/v1/docs/assets');
    return {
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': page.contentSecurityPolicy },
      body: page.html,
    };
  },
});

defineRoute({
  operationId: 'getDocsAsset',
  method: 'GET',
  path: '/v1/docs/assets/{file}',
  tags: ['Meta'],
  summary: 'A file of the interactive reference',
  description:
    `The Swagger UI scripts, styles and icons that /v1/docs loads: ${DOCS_ASSET_NAMES.join(', ')}, served as ` +
    'CSS, JavaScript or PNG. Any other name is 404. Needs no API key.',
  auth: 'public',
  params: z.object({ file: z.string().openapi({ example: 'swagger-ui.css' }) }),
  responses: { 200: { description: 'The file.' } },
  errors: ['not_found'],
  openapi: {
    responses: {
      200: {
        description: 'The file, with the media type of its kind.',
        content: Object.fromEntries(
          DOCS_ASSET_MEDIA_TYPES.map((type) => [
            type,
            { schema: type.startsWith('image/') ? z.string().openapi({ format: 'binary' }) : z.string() },
          ]),
        ),
      },
    },
  },
  handler: async ({ params }) => {
    const asset = await openDocsAsset(params.file);
    return {
      status: 200,
      headers: {
        'Content-Type': asset.contentType,
        'Content-Length': String(asset.size),
        'Cache-Control': 'public, max-age=86400',
      },
      body: asset.body,
    };
  },
});
