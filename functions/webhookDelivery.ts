import { app } from '@azure/functions';
import { timerSchedules } from '../shared/config.js';
import { deliverDueWebhooks } from '../shared/webhooks/webhookDeliverer.js';
import { webhookDeliveryDeps } from '../shared/webhooks/webhookDeps.js';

const schedules = timerSchedules();

// Every 5 seconds by default (WEBHOOK_DELIVERY_SCHEDULE): the webhook outbox, delivered (shared/webhooks/
// webhookDeliverer.ts says why a timer). A run stops taking new batches after 4 minutes; the next tick goes on.
app.timer('deliverWebhooks', {
  schedule: schedules.webhookDelivery,
  handler: async (_timer, context) => {
    const report = await deliverDueWebhooks(webhookDeliveryDeps((message) => context.warn(message)), {
      batch: 100,
      concurrency: 16,
      timeBudgetMs: 240_000,
    });
    if (report.delivered + report.retrying + report.failed > 0) context.log(`Webhooks: ${JSON.stringify(report)}`);
  },
});
