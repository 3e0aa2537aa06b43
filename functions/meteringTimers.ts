import { app } from '@azure/functions';
import { getMeterEventStripe } from '../shared/billing/stripeClient.js';
import { sampleStorage } from '../shared/billing/storageSampler.js';
import { syncUsageToStripe } from '../shared/billing/stripeSync.js';
import { getConfig, timerSchedules } from '../shared/config.js';
import { getDb } from '../shared/db/index.js';
import { getBlobServiceClient } from '../shared/storage/clients.js';

// Schedules are settings (STORAGE_SAMPLE_SCHEDULE, STRIPE_SYNC_SCHEDULE; NCRONTAB, seconds first), read when the
// functions load, as Azure reads the trigger metadata.
const schedules = timerSchedules();

// Hourly: one sample per user for the hour that just ended, plus any hours missed.
app.timer('sampleStorage', {
  schedule: schedules.storageSample,
  handler: async (_timer, context) => {
    const report = await sampleStorage(getDb(), getBlobServiceClient(), context);
    context.log(`Storage sampler: ${JSON.stringify(report)}`);
  },
});

// Every 15 minutes by default: unsent usage to Stripe as meter events (shared/billing/stripeSync.ts).
app.timer('syncUsageToStripe', {
  schedule: schedules.stripeSync,
  handler: async (_timer, context) => {
    const { billing } = getConfig();
    await syncUsageToStripe(
      getDb(),
      getMeterEventStripe(),
      {
        eventNames: billing.meterEvents,
        concurrency: billing.sync.concurrency,
        timeBudgetMs: billing.sync.timeBudgetSeconds * 1000,
      },
      context,
    );
  },
});
