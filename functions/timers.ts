import { app } from '@azure/functions';
import { A2P_AUDIT_RETENTION_DAYS, purgeA2pRequests } from '../shared/a2p/auditLog.js';
import { advanceA2pTasksOf } from '../shared/a2p/a2pDeps.js';
import { purgeRateLimitWindows } from '../shared/auth/credentialRepository.js';
import { reconcileBilling } from '../shared/billing/billingReconciliation.js';
import { checkBudgetThresholds } from '../shared/billing/budgetService.js';
import { closeBillingPeriods } from '../shared/billing/periodClose.js';
import { rollUpInvoicedStorage } from '../shared/billing/storageRollup.js';
import { sampleStorage } from '../shared/billing/storageSampler.js';
import { syncUsageToStripe } from '../shared/billing/stripeSync.js';
import { lifecycleSchedule, timerSchedules } from '../shared/config.js';
import { resumeStalledBuilds, STALLED_BUILD_SECONDS } from '../shared/datasets/datasetBuildQueue.js';
import { drainJobOutbox } from '../shared/examples/exampleJobs.js';
import { runRetention } from '../shared/privacy/retention.js';
import { resumeUserErasures } from '../shared/privacy/userErasure.js';
import { indexerDeps } from '../shared/sessions/indexerDeps.js';
import { invocationDeps, type InvocationDeps } from '../shared/runtime/appDeps.js';
import { removeAbandonedStaging, settleStaleUploads } from '../shared/sessions/staleUploads.js';
import { DATASET_BUILDS_QUEUE, EXAMPLE_JOBS_QUEUE } from '../shared/storage/layout.js';
import { deliverDueWebhooks } from '../shared/webhooks/webhookDeliverer.js';
import { webhookDeliveryDeps } from '../shared/webhooks/webhookDeps.js';
import { purgeWebhookEvents, WEBHOOK_EVENT_RETENTION_DAYS } from '../shared/webhooks/webhookOutbox.js';

/*
 * Every timer of the app, in one place: what runs on a schedule, and how often. Each runs on one instance at a time
 * (infra/main.bicep counts them in the connection budget: `singletonFunctions`); each handler is a call into the
 * service that owns the work, which is idempotent, so a run the platform repeats or skips changes nothing.
 */

const schedules = timerSchedules();

/** A timer whose handler gets the invocation's dependencies (shared/runtime/appDeps.ts). */
function timer(name: string, schedule: string, handler: (deps: InvocationDeps) => Promise<void>): void {
  app.timer(name, { schedule, handler: (_timer, context) => handler(invocationDeps(context)) });
}

// ---- Sessions ----

/**
 * Every 15 minutes, sessions stuck in `processing` for an hour are settled (shared/sessions/staleUploads.ts): an
 * upload that never completed becomes `invalid`, one whose trigger never ran (or whose indexing died) is indexed;
 * A2P tasks follow. Staging uploads older than 7 days (never completed, or never indexed) are removed.
 */
timer('settleStaleSessionUploads', '0 */15 * * * *', async (deps) => {
  const indexer = await indexerDeps(deps);
  const settled = await settleStaleUploads(indexer);
  for (const { sessionId } of settled) await advanceA2pTasksOf(deps, { sessionId });
  deps.logger.log(`Settled ${settled.length} stale session upload(s): ${JSON.stringify(settled)}`);
  const removed = await removeAbandonedStaging(indexer.uploads, deps.clock());
  if (removed.length > 0) deps.logger.log(`Removed ${removed.length} staging upload(s) older than 7 days: ${removed.join(', ')}`);
});

// ---- Examples ----

// Jobs whose enqueue failed when their example was created (see shared/examples/exampleJobs.ts).
timer('drainExampleJobOutbox', '*/30 * * * * *', async (deps) => {
  const queue = await deps.storage.queue(EXAMPLE_JOBS_QUEUE);
  const { sent, failed } = await drainJobOutbox(deps.db, queue);
  if (sent || failed) deps.logger.log(`Example job outbox: ${sent} sent, ${failed} postponed.`);
});

// ---- Datasets ----

// Builds whose request never reached the queue, or whose builder died, are sent again.
timer('resumeStalledDatasetBuilds', '0 */5 * * * *', async (deps) => {
  const { resent, failed } = await resumeStalledBuilds(deps.db, await deps.storage.blobs(), await deps.storage.queue(DATASET_BUILDS_QUEUE));
  if (resent || failed) {
    deps.logger.log(`Stalled dataset builds (quiet for ${STALLED_BUILD_SECONDS} s): ${resent} sent again, ${failed} failed.`);
  }
});

// ---- Metering and billing ----

// Schedules are settings (STORAGE_SAMPLE_SCHEDULE, STRIPE_SYNC_SCHEDULE, BILLING_PERIOD_CLOSE_SCHEDULE,
// BILLING_RECONCILE_SCHEDULE, BUDGET_CHECK_SCHEDULE, WEBHOOK_DELIVERY_SCHEDULE; NCRONTAB, seconds first), read when
// the functions load, as Azure reads the trigger metadata.
// Hourly: one sample per user for the hour that just ended, plus any hours missed, from what was stored then.
timer('sampleStorage', schedules.storageSample, async (deps) => {
  const report = await sampleStorage(deps.db, await deps.storage.blobs(), deps.logger, deps.clock());
  deps.logger.log(`Storage sampler: ${JSON.stringify(report)}`);
});

// Every 15 minutes by default: unsent usage to Stripe as meter events (shared/billing/stripeSync.ts).
timer('syncUsageToStripe', schedules.stripeSync, async (deps) => {
  const { billing } = deps.config;
  const meterEventStream = await deps.stripe.meterEventStream();
  await syncUsageToStripe(
    deps.db,
    await deps.stripe.meterEventClient(),
    {
      eventNames: billing.meterEvents,
      concurrency: billing.sync.concurrency,
      timeBudgetMs: billing.sync.timeBudgetSeconds * 1000,
      invoiceGraceMs: billing.invoiceGraceMinutes * 60_000,
      ...(meterEventStream ? { meterEventStream } : {}),
    },
    deps.logger,
  );
});

// Every ten minutes: a period that just ended gets its last hour sent and its figures compared with Stripe's,
// inside the invoice's finalization grace period (shared/billing/periodClose.ts).
timer('closeBillingPeriods', schedules.periodClose, async (deps) => {
  const report = await closeBillingPeriods({
    db: deps.db,
    stripe: await deps.stripe.meterEventClient(),
    blobs: await deps.storage.blobs(),
    billing: deps.config.billing,
    log: deps.logger,
  }, deps.clock());
  if (report.periods > 0) deps.logger.log(`Billing period close: ${JSON.stringify(report)}`);
});

// Daily: subscriptions and invoices read back from Stripe, for whatever webhooks missed.
timer('reconcileBilling', schedules.reconcile, async (deps) => {
  const stripe = await deps.stripe.client();
  if (!stripe) return;
  const report = await reconcileBilling({ db: deps.db, stripe, billing: deps.config.billing }, deps.clock());
  deps.logger.log(`Billing reconciliation: ${JSON.stringify(report)}`);
});

// ---- Budgets ----

// Every 5 minutes by default (BUDGET_CHECK_SCHEDULE): thresholds crossed by usage that no request looked at
// (a completed example, an hour of storage) are announced.
timer('checkBudgets', schedules.budgetCheck, async (deps) => {
  const report = await checkBudgetThresholds(deps.db, deps.config, deps.clock());
  if (report.emitted > 0) deps.logger.log(`Budgets: ${JSON.stringify(report)}`);
});

// ---- Webhooks ----

// Every 5 seconds by default (WEBHOOK_DELIVERY_SCHEDULE): the webhook outbox, delivered (shared/webhooks/
// webhookDeliverer.ts says why a timer). A run stops taking new batches after 4 minutes; the next tick goes on.
timer('deliverWebhooks', schedules.webhookDelivery, async (deps) => {
  const report = await deliverDueWebhooks(webhookDeliveryDeps(deps), {
    batch: 100,
    concurrency: 16,
    timeBudgetMs: 240_000,
  });
  if (report.delivered + report.retrying + report.failed > 0) deps.logger.log(`Webhooks: ${JSON.stringify(report)}`);
});

// ---- Data lifecycle ----

/** An erasure untouched this long has lost its process (a request runs it to its end in seconds). */
const STALLED_ERASURE_MINUTES = 10;

/**
 * Daily (DATA_LIFECYCLE_SCHEDULE, 03:30 UTC by default): retention (sessions past their owner's retention expire,
 * old examples are deleted, files a failed deletion left are removed), then the roll-up of invoiced storage
 * samples.
 */
timer('runDataLifecycle', lifecycleSchedule(), async (deps) => {
  const { db } = deps;
  const retention = await runRetention(db, await deps.storage.fileStores(), deps.config.privacy, deps.clock());
  deps.logger.log(
    `Retention: ${retention.expired_session_ids.length} session(s) expired, ${retention.deleted_example_ids.length} ` +
      `example(s) deleted, ${retention.purged_again} deletion(s) finished.`,
  );
  const rollup = await rollUpInvoicedStorage(db);
  deps.logger.log(`Storage roll-up: ${JSON.stringify(rollup)}`);
});

// Every 5 minutes: an erasure (DELETE /v1/users/me) whose process died is finished from the step it reached.
timer('resumeUserErasures', '0 */5 * * * *', async (deps) => {
  const resumed = await resumeUserErasures({ db: deps.db, stores: await deps.storage.fileStores() }, STALLED_ERASURE_MINUTES);
  if (resumed.length > 0) deps.logger.log(`Finished ${resumed.length} interrupted erasure(s).`);
});

// ---- Housekeeping ----

// Rate-limit windows last a minute; rows older than ten are history nobody reads.
timer('purgeRateLimitWindows', '0 */10 * * * *', async (deps) => {
  const purged = await purgeRateLimitWindows(deps.db, 10);
  deps.logger.log(`Purged ${purged} rate-limit windows.`);
});

// The A2P audit trail is kept for a while, not for ever: one row per agent request adds up.
timer('purgeA2pRequests', '0 30 3 * * *', async (deps) => {
  const purged = await purgeA2pRequests(deps.db);
  deps.logger.log(`Purged ${purged} A2P audit rows older than ${A2P_AUDIT_RETENTION_DAYS} days.`);
});

// Webhook events serve the deliveries list and redelivery for a month; settled ones older than that go (their
// deliveries with them). One still being retried stays, whatever its age.
timer('purgeWebhookEvents', '0 45 3 * * *', async (deps) => {
  const purged = await purgeWebhookEvents(deps.db);
  deps.logger.log(`Purged ${purged} webhook events older than ${WEBHOOK_EVENT_RETENTION_DAYS} days.`);
});
