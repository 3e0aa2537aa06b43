import type { BlobServiceClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { EXAMPLES_CONTAINER } from '../storage/layout.js';
import { insertHourlySamples, ownersOfExamples, replaceExampleStorageTotals } from './storageRepository.js';
import { startOfHour } from './usageService.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIST_PAGE_SIZE = 5000;
// Stripe takes meter events of the past 35 days; older hours would only ever be reported as expired.
const MAX_CATCH_UP_HOURS = 35 * 24;

export interface SamplerLog {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

/**
 * Bytes of every user's example files, listed from Blob (`examples/<example-id>/...`) a page at a time: each page's
 * example ids are resolved to owners in one query, so memory holds one page and the per-user totals, whatever the
 * number of blobs. Blobs of unknown examples (another database's, or deleted) count for nobody.
 */
export async function measureExampleBytes(db: Kysely<Database>, blobs: BlobServiceClient): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  const container = blobs.getContainerClient(EXAMPLES_CONTAINER);
  if (!(await container.exists())) return totals;
  for await (const page of container.listBlobsFlat().byPage({ maxPageSize: LIST_PAGE_SIZE })) {
    const bytesByExample = new Map<string, number>();
    for (const blob of page.segment.blobItems) {
      const exampleId = blob.name.split('/', 1)[0] ?? '';
      if (!UUID.test(exampleId)) continue;
      const id = exampleId.toLowerCase();
      bytesByExample.set(id, (bytesByExample.get(id) ?? 0) + (blob.properties.contentLength ?? 0));
    }
    for (const owner of await ownersOfExamples(db, [...bytesByExample.keys()])) {
      totals.set(owner.user_id, (totals.get(owner.user_id) ?? 0) + (bytesByExample.get(owner.id) ?? 0));
    }
  }
  return totals;
}

export interface StorageSampleReport {
  hour: string;
  samples_written: number;
  example_bytes_listed: boolean;
}

/**
 * The hourly storage sampler: measures example files in Blob, then writes one sample per user for the hour that
 * just ended (and any hours missed before it). If Blob cannot be listed, the previous listing's figures stand in,
 * so a storage hiccup delays nothing that is billed.
 */
export async function sampleStorage(
  db: Kysely<Database>,
  blobs: BlobServiceClient,
  log: SamplerLog,
  now: Date = new Date(),
): Promise<StorageSampleReport> {
  let listed = true;
  try {
    await replaceExampleStorageTotals(db, await measureExampleBytes(db, blobs), now);
  } catch (error) {
    listed = false;
    log.warn('Storage sampler: could not list example blobs; using the previous figures.', error);
  }
  const lastCompletedHour = new Date(startOfHour(now).getTime() - 3_600_000);
  const written = await insertHourlySamples(db, lastCompletedHour, MAX_CATCH_UP_HOURS);
  return { hour: lastCompletedHour.toISOString(), samples_written: written, example_bytes_listed: listed };
}
