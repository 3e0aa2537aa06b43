import type { BlobServiceClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { EXAMPLES_CONTAINER, SESSIONS_CONTAINER } from '../storage/layout.js';
import { HOUR_MS, startOfHour } from './billingPeriods.js';
import {
  insertHourlySamples,
  ownersOfExamples,
  reconcileExampleObjects,
  reconcileSessionObjects,
  type ListedExample,
} from './storageRepository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIST_PAGE_SIZE = 5000;
// Stripe takes meter events of the past 35 days; older hours could not be billed in their own period anyway.
const MAX_CATCH_UP_HOURS = 35 * 24;

export interface SamplerLog {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

/**
 * Example files, listed from Blob (`examples/<example-id>/...`) a page at a time: each page's example ids are
 * resolved to owners in one query, so memory holds one page and the per-example figures, whatever the number of
 * blobs. Blobs of unknown examples (another database's, or deleted) count for nobody.
 */
async function listExampleFiles(db: Kysely<Database>, blobs: BlobServiceClient): Promise<Map<string, ListedExample>> {
  const examples = new Map<string, ListedExample>();
  const container = blobs.getContainerClient(EXAMPLES_CONTAINER);
  if (!(await container.exists())) return examples;
  for await (const page of container.listBlobsFlat().byPage({ maxPageSize: LIST_PAGE_SIZE })) {
    const found = new Map<string, Omit<ListedExample, 'userId'>>();
    for (const blob of page.segment.blobItems) {
      const exampleId = (blob.name.split('/', 1)[0] ?? '').toLowerCase();
      if (!UUID.test(exampleId)) continue;
      const created = blob.properties.createdOn ?? blob.properties.lastModified;
      const modified = blob.properties.lastModified;
      const seen = found.get(exampleId);
      found.set(exampleId, {
        bytes: (seen?.bytes ?? 0) + (blob.properties.contentLength ?? 0),
        createdOn: seen && seen.createdOn < created ? seen.createdOn : created,
        lastModified: seen && seen.lastModified > modified ? seen.lastModified : modified,
      });
    }
    for (const owner of await ownersOfExamples(db, [...found.keys()])) {
      const example = found.get(owner.id);
      if (example) examples.set(owner.id, { ...example, userId: owner.user_id });
    }
  }
  return examples;
}

/** The sessions that have any blob under `sessions/<id>/` (one entry per session, however many files it has). */
async function listStoredSessions(blobs: BlobServiceClient): Promise<string[]> {
  const container = blobs.getContainerClient(SESSIONS_CONTAINER);
  if (!(await container.exists())) return [];
  const ids: string[] = [];
  for await (const page of container.listBlobsByHierarchy('/').byPage({ maxPageSize: LIST_PAGE_SIZE })) {
    for (const prefix of page.segment.blobPrefixes ?? []) {
      const id = prefix.name.replace(/\/$/, '').toLowerCase();
      if (UUID.test(id)) ids.push(id);
    }
  }
  return ids;
}

export interface StorageSampleReport {
  hour: string;
  samples_written: number;
  example_files_listed: boolean;
  session_files_listed: boolean;
  /** Objects found gone (retention, the lifecycle rule) and no longer billed. */
  closed: number;
}

/**
 * The hourly storage sampler: brings the ledger in line with what Blob holds (example files appear with their
 * creation time; files found gone stop counting from the last time they were seen), then writes one sample per
 * user for every hour up to the one that just ended. If Blob cannot be listed, the ledger stays as it was and the
 * samples are written from it: a storage hiccup delays nothing that is billed.
 */
export async function sampleStorage(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  log: SamplerLog,
  now: Date,
): Promise<StorageSampleReport> {
  let closed = 0;
  let examplesListed = true;
  try {
    closed += (await reconcileExampleObjects(db, await listExampleFiles(db, blobs), now)).closed;
  } catch (error) {
    examplesListed = false;
    log.warn('Storage sampler: could not list example blobs; the ledger keeps its figures.', error);
  }
  let sessionsListed = true;
  try {
    closed += (await reconcileSessionObjects(db, await listStoredSessions(blobs), now)).closed;
  } catch (error) {
    sessionsListed = false;
    log.warn('Storage sampler: could not list session blobs; the ledger keeps its figures.', error);
  }
  const lastCompletedHour = new Date(startOfHour(now).getTime() - HOUR_MS);
  const written = await insertHourlySamples(db, lastCompletedHour, MAX_CATCH_UP_HOURS);
  return {
    hour: lastCompletedHour.toISOString(),
    samples_written: written,
    example_files_listed: examplesListed,
    session_files_listed: sessionsListed,
    closed,
  };
}
