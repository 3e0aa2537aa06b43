import { app } from '@azure/functions';
import { rollUpInvoicedStorage } from '../shared/billing/storageRollup.js';
import { getConfig, lifecycleSchedule } from '../shared/config.js';
import { getDb } from '../shared/db/index.js';
import { runRetention } from '../shared/privacy/retention.js';
import { resumeUserErasures } from '../shared/privacy/userErasure.js';
import { getFileStores } from '../shared/storage/storageAccess.js';

/** An erasure untouched this long has lost its process (a request runs it to its end in seconds). */
const STALLED_ERASURE_MINUTES = 10;

/**
 * Daily (DATA_LIFECYCLE_SCHEDULE, 03:30 UTC by default): retention (sessions past their owner's retention expire,
 * old examples are deleted, files a failed deletion left are removed), then the roll-up of invoiced storage
 * samples.
 */
app.timer('runDataLifecycle', {
  schedule: lifecycleSchedule(),
  handler: async (_timer, context) => {
    const db = getDb();
    const retention = await runRetention(db, await getFileStores(), getConfig().privacy);
    // session.expired webhook events are emitted here, one per id in retention.expired_session_ids, once webhook
    // endpoints exist (their own issue): the sessions are expired and their files gone by this point.
    context.log(
      `Retention: ${retention.expired_session_ids.length} session(s) expired, ${retention.deleted_example_ids.length} ` +
        `example(s) deleted, ${retention.purged_again} deletion(s) finished.`,
    );
    const rollup = await rollUpInvoicedStorage(db);
    context.log(`Storage roll-up: ${JSON.stringify(rollup)}`);
  },
});

// Every 5 minutes: an erasure (DELETE /v1/users/me) whose process died is finished from the step it reached.
app.timer('resumeUserErasures', {
  schedule: '0 */5 * * * *',
  handler: async (_timer, context) => {
    const resumed = await resumeUserErasures({ db: getDb(), stores: await getFileStores() }, STALLED_ERASURE_MINUTES);
    if (resumed.length > 0) context.log(`Finished ${resumed.length} interrupted erasure(s).`);
  },
});
