/**
 * Tells a dependency outage (database, storage or Stripe unreachable, shutting down, overloaded) from a bug, so that the
 * caller gets 503 "retry later" instead of 500. Anything not recognised here is treated as a bug.
 */

// Node socket errors seen when a server is down or unreachable.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'REQUEST_SEND_ERROR',
]);

// SQLSTATE: class 08 connection exceptions; 57P01-57P03 shutdown / cannot connect now; 53300 too many connections.
// https://www.postgresql.org/docs/current/errcodes-appendix.html
const POSTGRES_OUTAGE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

// Messages node-postgres uses for a pool or connection that gave up (they carry no code).
const POSTGRES_OUTAGE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error',
];

function readProp(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

export function isDependencyOutage(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const code = readProp(error, 'code');
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || POSTGRES_OUTAGE_STATES.has(code) || code.startsWith('08')) return true;
  }
  const message = readProp(error, 'message');
  if (typeof message === 'string' && POSTGRES_OUTAGE_MESSAGES.some((text) => message.includes(text))) return true;
  // @azure/core-rest-pipeline RestError: no status means the request never got an answer; 5xx is the service's.
  if (readProp(error, 'name') === 'RestError') {
    const statusCode = readProp(error, 'statusCode');
    if (statusCode === undefined || (typeof statusCode === 'number' && statusCode >= 500)) return true;
  }
  // stripe-node errors (https://github.com/stripe/stripe-node/blob/master/src/Error.ts): no answer at all
  // (StripeConnectionError, which includes timeouts), Stripe's own 5xx, or its rate limit (429) mean "retry later".
  const type = readProp(error, 'type');
  if (typeof type === 'string' && type.startsWith('Stripe')) {
    if (type === 'StripeConnectionError' || type === 'StripeRateLimitError') return true;
    const statusCode = readProp(error, 'statusCode');
    if (typeof statusCode === 'number' && (statusCode >= 500 || statusCode === 429)) return true;
  }
  // AggregateError (several addresses refused) and wrapped causes.
  const errors = readProp(error, 'errors');
  if (Array.isArray(errors) && errors.some((inner) => isDependencyOutage(inner, depth + 1))) return true;
  return isDependencyOutage(readProp(error, 'cause'), depth + 1);
}
