/**
 * Per-key limits per minute (CONTRACT.md, Conventions): session creation 10, API-key management 10, everything
 * else 100. Each operation names its bucket in its route definition.
 */
export const RATE_LIMIT_PER_MINUTE = {
  session_create: 10,
  key_management: 10,
  default: 100,
} as const;

export type RateLimitBucket = keyof typeof RATE_LIMIT_PER_MINUTE;
