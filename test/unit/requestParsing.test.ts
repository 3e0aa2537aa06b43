import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError } from '../../shared/errors/apiError.js';
import { PaginationQuery } from '../../shared/validation/pagination.js';
import { MAX_JSON_BODY_BYTES } from '../../shared/http/requestBody.js';
import { readJsonBody } from '../../shared/http/requestParsing.js';
import { validateInput } from '../../shared/validation/validateInput.js';

function post(body: string, contentType = 'application/json'): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/v1/things',
    headers: { 'content-type': contentType },
    body: { string: body },
  });
}

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<ApiError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected an ApiError');
}

const Thing = z.object({ suite_id: z.uuid(), description: z.string().max(10).optional() });

describe('JSON bodies', () => {
  it('parses a JSON body', async () => {
    expect(await readJsonBody(post('{"a":1}', 'application/json; charset=utf-8'))).toEqual({ a: 1 });
  });

  it('refuses the wrong content type with 400', async () => {
    const error = await errorOf(readJsonBody(post('{"a":1}', 'text/plain')));
    expect([error.status, error.code]).toEqual([400, 'bad_request']);
  });

  it('refuses malformed JSON and an empty body with 400', async () => {
    expect((await errorOf(readJsonBody(post('{"a":')))).status).toBe(400);
    expect((await errorOf(readJsonBody(post('')))).status).toBe(400);
  });

  it('refuses a body over the limit with 413', async () => {
    const error = await errorOf(readJsonBody(post(`"${'a'.repeat(MAX_JSON_BODY_BYTES)}"`)));
    expect([error.status, error.code]).toEqual([413, 'payload_too_large']);
  });
});

describe('validation', () => {
  it('answers a missing required field with 400 naming it', async () => {
    const error = await errorOf(() => validateInput(Thing, { description: 'x' }, 'body'));
    expect(error.status).toBe(400);
    expect(error.details).toEqual({
      fields: [{ location: 'body', field: 'suite_id', message: expect.any(String) }],
    });
  });

  it('answers an invalid value with 422 naming the field', async () => {
    const error = await errorOf(() => validateInput(Thing, { suite_id: 'not-a-uuid' }, 'body'));
    expect(error.status).toBe(422);
    expect(error.code).toBe('validation_error');
    expect(error.details).toEqual({ fields: [{ location: 'body', field: 'suite_id', message: expect.any(String) }] });
  });

  it('answers a body that is not an object with 400', async () => {
    expect((await errorOf(() => validateInput(Thing, [1, 2], 'body'))).status).toBe(400);
  });

  it('applies pagination defaults and refuses out-of-range pages with 422', async () => {
    expect(validateInput(PaginationQuery, {}, 'query')).toEqual({ page: 1, per_page: 20 });
    expect(validateInput(PaginationQuery, { page: '3', per_page: '100' }, 'query')).toEqual({ page: 3, per_page: 100 });
    const negative = await errorOf(() => validateInput(PaginationQuery, { page: '-1' }, 'query'));
    expect(negative.status).toBe(422);
    expect((await errorOf(() => validateInput(PaginationQuery, { per_page: '101' }, 'query'))).status).toBe(422);
  });
});
