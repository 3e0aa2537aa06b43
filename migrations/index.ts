import type { Migration } from 'kysely';
import * as initial from './0001_initial.js';
import * as catalog from './0002_catalog.js';
import * as sessionsAndExamples from './0003_sessions_and_examples.js';
import * as usageAndBilling from './0004_usage_and_billing.js';
import * as billingMetering from './0005_billing_metering.js';
import * as a2p from './0006_a2p.js';
import * as realRecordings from './0007_real_recordings.js';
import * as datasets from './0008_datasets.js';
import * as billingTrust from './0009_billing_trust.js';
import * as dataLifecycle from './0010_data_lifecycle.js';
import * as webhooksBudgets from './0011_webhooks_budgets.js';
import * as keySuitesNonEmpty from './0013_key_suites_non_empty.js';
import * as a2pPushNotifications from './0014_a2p_push_notifications.js';
import * as usageSyncLists from './0015_usage_sync_lists.js';
import * as carriedTokenState from './0016_carried_token_state.js';
import * as storedObjectsByUser from './0017_stored_objects_by_user.js';

/**
 * Every migration, by name, in the order they apply. A static list rather than Kysely's FileMigrationProvider so
 * that the same code runs from dist/ (compiled .js) and from TypeScript under vitest, and bundles cleanly.
 * New migrations go at the end, with a name that sorts after the last one (Kysely checks the order).
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_catalog': catalog,
  '0003_sessions_and_examples': sessionsAndExamples,
  '0004_usage_and_billing': usageAndBilling,
  '0005_billing_metering': billingMetering,
  '0006_a2p': a2p,
  '0007_real_recordings': realRecordings,
  '0008_datasets': datasets,
  '0009_billing_trust': billingTrust,
  '0010_data_lifecycle': dataLifecycle,
  '0011_webhooks_budgets': webhooksBudgets,
  '0013_key_suites_non_empty': keySuitesNonEmpty,
  '0014_a2p_push_notifications': a2pPushNotifications,
  '0015_usage_sync_lists': usageSyncLists,
  '0016_carried_token_state': carriedTokenState,
  '0017_stored_objects_by_user': storedObjectsByUser,
};
