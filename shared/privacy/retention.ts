import type { Kysely } from 'kysely';
import type { PrivacyConfig } from '../config.js';
import type { Database } from '../db/schema.js';
import { purgeExampleFiles } from '../examples/exampleDeletion.js';
import { findUnpurgedExamples, markIdleExamplesDeleted } from '../examples/exampleLifecycleRepository.js';
import { purgeSessionFiles } from '../sessions/sessionDeletion.js';
import { findUnpurgedSessions, markSessionsExpired } from '../sessions/sessionLifecycleRepository.js';
import type { FileStores } from '../storage/fileStores.js';
import {
  countPastRetention,
  findExamplesPastRetention,
  findSessionsPastRetention,
  type RetentionScope,
} from './retentionRepository.js';
import type { RetentionPreviewResponse } from './retentionSchemas.js';

/**
 * Retention: once a day, every session older than its owner's `session_retention_days` loses its files (trace,
 * original, screenshots, staging) and becomes `expired`, its row kept; every example older than
 * `example_retention_days` is deleted as DELETE /v1/examples/{id} deletes it. The preview lists what the next
 * run would do, from the same queries.
 */

const BATCH = 500;
/** The preview lists this many of each (with the total counts beside). */
export const PREVIEW_LIMIT = 100;

function scopeOf(defaults: PrivacyConfig, now: Date, userId?: string): RetentionScope {
  return {
    now,
    defaultSessionDays: defaults.defaultSessionRetentionDays,
    defaultExampleDays: defaults.defaultExampleRetentionDays,
    ...(userId ? { userId } : {}),
  };
}

export async function previewRetention(
  db: Kysely<Database>,
  defaults: PrivacyConfig,
  userId: string,
  now: Date,
): Promise<RetentionPreviewResponse> {
  const scope = scopeOf(defaults, now, userId);
  const [counts, sessions, examples] = await Promise.all([
    countPastRetention(db, scope),
    findSessionsPastRetention(db, scope, PREVIEW_LIMIT),
    findExamplesPastRetention(db, scope, PREVIEW_LIMIT),
  ]);
  return {
    as_of: now.toISOString(),
    sessions: {
      count: counts.sessions,
      stored_bytes: counts.bytes,
      items: sessions.map((row) => ({
        id: row.id,
        status: row.status as RetentionPreviewResponse['sessions']['items'][number]['status'],
        created_at: row.created_at.toISOString(),
        expires_at: row.expires_at.toISOString(),
        stored_bytes: row.stored_bytes,
      })),
    },
    examples: {
      count: counts.examples,
      items: examples.map((row) => ({
        id: row.id,
        session_id: row.session_id,
        created_at: row.created_at.toISOString(),
        expires_at: row.expires_at.toISOString(),
      })),
    },
  };
}

export interface RetentionReport {
  expired_session_ids: string[];
  deleted_example_ids: string[];
  /** Deleted or expired rows whose files an earlier run (or a DELETE) could not remove, removed now. */
  purged_again: number;
}

/**
 * The daily run: expires and deletes what is past retention (in batches, oldest first), then removes any files
 * of deleted or expired rows still there (a DELETE or an earlier run that met a storage outage). Safe to run twice:
 * each step is conditional on the row's state.
 */
export async function runRetention(
  db: Kysely<Database>,
  stores: FileStores,
  defaults: PrivacyConfig,
  now: Date,
  /** One user's retention only (an operator's run, or a test's with its clock moved). */
  userId?: string,
): Promise<RetentionReport> {
  const scope = scopeOf(defaults, now, userId);
  const report: RetentionReport = { expired_session_ids: [], deleted_example_ids: [], purged_again: 0 };
  for (;;) {
    const due = await findSessionsPastRetention(db, scope, BATCH);
    if (due.length === 0) break;
    const expired = await markSessionsExpired(db, due.map((session) => session.id));
    for (const sessionId of expired) await purgeSessionFiles(db, stores, sessionId);
    report.expired_session_ids.push(...expired);
    if (due.length < BATCH) break;
  }
  for (;;) {
    const due = await findExamplesPastRetention(db, scope, BATCH);
    if (due.length === 0) break;
    const deleted = await markIdleExamplesDeleted(db, due.map((example) => example.id));
    for (const exampleId of deleted) await purgeExampleFiles(db, stores, exampleId);
    report.deleted_example_ids.push(...deleted);
    if (due.length < BATCH) break;
  }
  for (const sessionId of await findUnpurgedSessions(db, BATCH)) {
    await purgeSessionFiles(db, stores, sessionId);
    report.purged_again++;
  }
  for (const exampleId of await findUnpurgedExamples(db, BATCH)) {
    await purgeExampleFiles(db, stores, exampleId);
    report.purged_again++;
  }
  return report;
}
