import { app } from '@azure/functions';
import { reconcileBilling } from '../shared/billing/billingReconciliation.js';
import { closeBillingPeriods } from '../shared/billing/periodClose.js';
import { getMeterEventStream, getMeterEventStripe, getStripe } from '../shared/billing/stripeAccess.js';
import { sampleStorage } from '../shared/billing/storageSampler.js';
import { syncUsageToStripe } from '../shared/billing/stripeSync.js';
import { getConfig, timerSchedules } from '../shared/config.js';
import { getDb } from '../shared/db/index.js';
import { getBlobServiceClient } from '../shared/storage/storageAccess.js';

// Schedules are settings (STORAGE_SAMPLE_SCHEDULE, STRIPE_SYNC_SCHEDULE, BILLING_PERIOD_CLOSE_SCHEDULE,
// BILLING_RECONCILE_SCHEDULE; NCRONTAB, seconds first), read when the functions load, as Azure reads the trigger
// metadata.
const schedules = timerSchedules();

// Hourly: one sample per user for the hour that just ended, plus any hours missed, from what was stored then.
app.timer('sampleStorage', {
  schedule: schedules.storageSample,
  handler: async (_timer, context) => {
    const report = await sampleStorage(getDb(), await getBlobServiceClient(), context);
    context.log(`Storage sampler: ${JSON.stringify(report)}`);
  },
});

// Every 15 minutes by default: unsent usage to Stripe as meter events (shared/billing/stripeSync.ts).
app.timer('syncUsageToStripe', {
  schedule: schedules.stripeSync,
  handler: async (_timer, context) => {
    const { billing } = getConfig();
    const meterEventStream = await getMeterEventStream();
    await syncUsageToStripe(
      getDb(),
      await getMeterEventStripe(),
      {
        eventNames: billing.meterEvents,
        concurrency: billing.sync.concurrency,
        timeBudgetMs: billing.sync.timeBudgetSeconds * 1000,
        invoiceGraceMs: billing.invoiceGraceMinutes * 60_000,
        ...(meterEventStream ? { meterEventStream } : {}),
      },
      context,
    );
  },
});

// Every ten minutes: a period that just ended gets its last hour sent and its figures compared with Stripe's,
// inside the invoice's finalization grace period (shared/billing/periodClose.ts).
app.timer('closeBillingPeriods', {
  schedule: schedules.periodClose,
  handler: async (_timer, context) => {
    const report = await closeBillingPeriods({
      db: getDb(),
      stripe: await getMeterEventStripe(),
      blobs: await getBlobServiceClient(),
      billing: getConfig().billing,
      log: context,
    });
    if (report.periods > 0) context.log(`Billing period close: ${JSON.stringify(report)}`);
  },
});

// Daily: subscriptions and invoices read back from Stripe, for whatever webhooks missed.
app.timer('reconcileBilling', {
  schedule: schedules.reconcile,
  handler: async (_timer, context) => {
    const stripe = await getStripe();
    if (!stripe) return;
    const report = await reconcileBilling({ db: getDb(), stripe, billing: getConfig().billing });
    context.log(`Billing reconciliation: ${JSON.stringify(report)}`);
  },
});
