import { createHmac, randomBytes } from 'node:crypto';

/*
 * How deliveries are signed (the scheme Stripe's webhooks made familiar): the header
 * `Tracepipe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the endpoint's secret
 * as its UTF-8 text (`whsec_` included). The time is inside what is signed, so a receiver that refuses old
 * timestamps (5 minutes, say) refuses replays; the event id (`Tracepipe-Event-Id`) is what it dedupes on, since
 * delivery is at least once.
 */

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** 32 random bytes, base64url, behind the prefix. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64url');
}

export function webhookSignature(secret: string, body: string, timestamp: number): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${digest}`;
}
