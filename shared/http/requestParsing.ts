import type { HttpRequest } from '@azure/functions';
import { ApiError } from '../errors/apiError.js';
import { MAX_JSON_BODY_BYTES, readTextWithLimit } from './requestBody.js';

function isJsonContentType(contentType: string | null): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/**
 * Reads a JSON body: wrong content type, an empty body or malformed JSON are 400, never 500. An optional body
 * may be left out entirely (no Content-Type, no bytes), which reads as `{}`.
 */
export async function readJsonBody(
  request: HttpRequest,
  options: { optional?: boolean; maxBytes?: number } = {},
): Promise<unknown> {
  const maxBytes = options.maxBytes ?? MAX_JSON_BODY_BYTES;
  const contentType = request.headers.get('content-type');
  if (options.optional && contentType === null) {
    if ((await readTextWithLimit(request, maxBytes)).trim() === '') return {};
    throw ApiError.badRequest('Expected a JSON body with Content-Type: application/json.');
  }
  if (!isJsonContentType(contentType)) {
    throw ApiError.badRequest('Expected a JSON body with Content-Type: application/json.');
  }
  const text = await readTextWithLimit(request, maxBytes);
  if (text.trim() === '') throw ApiError.badRequest('The request body is empty; a JSON object is required.');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw ApiError.badRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
}

export function queryToObject(query: URLSearchParams): Record<string, string> {
  return Object.fromEntries(query.entries());
}
