import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from './zod.js';
import { ERROR_STATUS } from '../errors/apiError.js';


/**
 * The one registry: each route registers its zod schemas here next to its handler (shared/http/defineRoute.ts),
 * and /v1/openapi.json is generated from it. Nothing in the document is written by hand.
 */
export const openApiRegistry = new OpenAPIRegistry();

export const API_KEY_SECURITY = 'ApiKey';
export const BEARER_SECURITY = 'EntraBearer';

openApiRegistry.registerComponent('securitySchemes', API_KEY_SECURITY, {
  type: 'apiKey',
  in: 'header',
  name: 'X-API-Key',
  description: 'An API key (`tp_live_sk_...`), created with POST /v1/api-keys and shown once.',
});
openApiRegistry.registerComponent('securitySchemes', BEARER_SECURITY, {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description: 'A Microsoft Entra External ID token, for the storefront.',
});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...Array<keyof typeof ERROR_STATUS>]),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error', { description: 'Every error has this shape.' });

export function generateOpenApiDocument(serverUrl?: string): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const generator = new OpenApiGeneratorV31(openApiRegistry.definitions);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Tracepipe API',
      version: '1.0.0',
      description:
        'Tracepipe turns recordings of people using web applications into fine-tuning data for AI agents. ' +
        'Every endpoint except health, the OpenAPI document, the docs and the agent card needs an API key in ' +
        '`X-API-Key`. Errors always have the shape `{ "error": { "code", "message", "details" } }`. Lists take ' +
        '`page` and `per_page` (at most 100) and are ordered newest first.',
    },
    servers: [{ url: serverUrl ?? '/' }],
  });
}
