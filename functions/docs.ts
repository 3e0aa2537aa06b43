import { openDocsAsset, renderDocsPage } from '../shared/docs/swaggerUi.js';
import { defineRoute } from '../shared/http/defineRoute.js';
import { z } from '../shared/openapi/zod.js';

defineRoute({
  operationId: 'getDocs',
  method: 'GET',
  path: '/v1/docs',
  tags: ['Meta'],
  summary: 'Interactive API reference',
  description: 'Swagger UI over /v1/openapi.json, served from the API itself (no CDN). Needs no API key.',
  auth: 'public',
  responses: { 200: { description: 'The reference page.', schema: z.string(), contentType: 'text/html' } },
  handler: async () => ({
    status: 200,
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
    body: renderDocsPage('/v1/openapi.json', '/v1/docs/assets'),
  }),
});

defineRoute({
  operationId: 'getDocsAsset',
  method: 'GET',
  path: '/v1/docs/assets/{file}',
  tags: ['Meta'],
  summary: 'A file of the interactive reference',
  description: 'The Swagger UI scripts, styles and icons that /v1/docs loads. Needs no API key.',
  auth: 'public',
  params: z.object({ file: z.string().openapi({ example: 'swagger-ui.css' }) }),
  responses: { 200: { description: 'The file.', schema: z.string(), contentType: 'application/octet-stream' } },
  errors: ['not_found'],
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
