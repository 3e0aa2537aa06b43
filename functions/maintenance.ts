import { app } from '@azure/functions';
import { A2P_AUDIT_RETENTION_DAYS, purgeA2pRequests } from '../shared/a2p/auditLog.js';
import { purgeRateLimitWindows } from '../shared/auth/credentialRepository.js';
import { getDb } from '../shared/db/index.js';
import { purgeWebhookEvents, WEBHOOK_EVENT_RETENTION_DAYS } from '../shared/webhooks/webhookOutbox.js';

// Rate-limit windows last a minute; rows older than ten are history nobody reads.
app.timer('purgeRateLimitWindows', {
  schedule: '0 */10 * * * *',
  handler: async (_timer, context) => {
    const purged = await purgeRateLimitWindows(getDb(), 10);
    context.log(`Purged ${purged} rate-limit windows.`);
  },
});

// The A2P audit trail is kept for a while, not for ever: one row per agent request adds up.
app.timer('purgeA2pRequests', {
  schedule: '0 30 3 * * *',
  handler: async (_timer, context) => {
    const purged = await purgeA2pRequests(getDb());
    context.log(`Purged ${purged} A2P audit rows older than ${A2P_AUDIT_RETENTION_DAYS} days.`);
  },
});

// Webhook events serve the deliveries list and redelivery for a month; settled ones older than that go (their
// deliveries with them). One still being retried stays, whatever its age.
app.timer('purgeWebhookEvents', {
  schedule: '0 45 3 * * *',
  handler: async (_timer, context) => {
    const purged = await purgeWebhookEvents(getDb());
    context.log(`Purged ${purged} webhook events older than ${WEBHOOK_EVENT_RETENTION_DAYS} days.`);
  },
});
