import { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../shared/errors/apiError.js';
import { isDependencyOutage } from '../../shared/errors/dependencyOutage.js';
import { errorToResponse } from '../../shared/http/errorResponse.js';

function quietContext(): { context: InvocationContext; logged: unknown[][] } {
  const logged: unknown[][] = [];
  const context = new InvocationContext({
    invocationId: 'inv-1',
    functionName: 'test',
    logHandler: (_level, ...args) => logged.push(args),
  });
  return { context, logged };
}

describe('dependency outages', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })],
    ['a PostgreSQL shutdown', Object.assign(new Error('terminating connection'), { code: '57P01' })],
    ['a connection exception class 08', Object.assign(new Error('x'), { code: '08006' })],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    ['a storage request that got no answer', Object.assign(new Error('socket hang up'), { name: 'RestError' })],
    ['a storage 503', Object.assign(new Error('busy'), { name: 'RestError', statusCode: 503 })],
    ['an AggregateError of refusals', new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })])],
    ['a wrapped cause', new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ETIMEDOUT' }) })],
  ])('recognises %s', (_name, error) => {
    expect(isDependencyOutage(error)).toBe(true);
  });

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a storage 404', Object.assign(new Error('not found'), { name: 'RestError', statusCode: 404 })],
    ['a plain bug', new TypeError('undefined is not a function')],
    ['a string', 'oops'],
  ])('does not take %s for an outage', (_name, error) => {
    expect(isDependencyOutage(error)).toBe(false);
  });
});

describe('error rendering', () => {
  it('renders an ApiError in the contract shape with its status and headers', () => {
    const { context } = quietContext();
    const response = errorToResponse(ApiError.validation('Some fields are invalid.', { fields: [] }), context);
    expect(response.status).toBe(422);
    expect(response.jsonBody).toEqual({
      error: { code: 'validation_error', message: 'Some fields are invalid.', details: { fields: [] } },
    });
  });

  it('turns an outage into 503 with Retry-After', () => {
    const { context } = quietContext();
    const response = errorToResponse(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), context);
    expect(response.status).toBe(503);
    expect((response.headers as Record<string, string>)['Retry-After']).toBe('5');
    expect((response.jsonBody as { error: { code: string } }).error.code).toBe('unavailable');
  });

  it('logs an unknown error and answers 500 without its internals', () => {
    const { context, logged } = quietContext();
    const response = errorToResponse(new Error('secret stack detail'), context);
    expect(response.status).toBe(500);
    expect(JSON.stringify(response.jsonBody)).not.toContain('secret stack detail');
    expect(response.jsonBody).toEqual({
      error: {
        code: 'internal_error',
        message: 'An internal error occurred. It has been logged.',
        details: { request_id: 'inv-1' },
      },
    });
    expect(String(logged[0]?.[1])).toContain('secret stack detail');
  });
});
