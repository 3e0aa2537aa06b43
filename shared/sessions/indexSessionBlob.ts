import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.js';
import { sessionBlobName } from './sessionBlob.js';
import {
  findSessionForIndexing,
  markSessionProcessing,
  recordSessionIndex,
  type SessionIndexRecord,
} from './sessionRepository.js';
import { TraceIndexer, type TraceIndexResult } from './traceIndexer.js';

/**
 * Indexes the uploaded trace of one session: streams the blob once through the TraceIndexer (flat memory for any
 * size) and moves the session to `ready` or `invalid`. Safe to run any number of times for one upload:
 * - the blob's ETag is recorded with the result; the same ETag again changes nothing, a new upload re-indexes;
 * - the result is written under a row lock after checking that the blob still has the ETag that was read, so an
 *   older upload's late result never overwrites a newer one's;
 * - until the result is written the session stays `processing` and nothing is marked done, so a failure (thrown to
 *   the trigger, which retries) is finished by the retry.
 * A blob without a session row, or over the maximum size, is deleted (only that version: ifMatch its ETag).
 */

export interface IndexerLogger {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

export interface IndexSessionBlobDeps {
  db: Kysely<Database>;
  container: ContainerClient;
  maxBytes: number;
  logger: IndexerLogger;
}

export type IndexOutcome =
  | { outcome: 'ready' | 'invalid'; etag: string; result: TraceIndexResult }
  | { outcome: 'already_indexed'; etag: string }
  | { outcome: 'too_large'; etag: string; sizeBytes: number }
  | { outcome: 'orphan_deleted'; etag: string }
  | { outcome: 'blob_missing' }
  | { outcome: 'superseded'; etag: string };

const SessionId = z.uuid();

export async function indexSessionBlob(deps: IndexSessionBlobDeps, sessionId: string): Promise<IndexOutcome> {
  const { db, logger } = deps;
  const blob = deps.container.getBlockBlobClient(sessionBlobName(sessionId));
  const properties = await ifExists(blob.getProperties());
  if (!properties) {
    logger.log(`Session blob ${blob.name} no longer exists; nothing to index.`);
    return { outcome: 'blob_missing' };
  }
  const etag = properties.etag as string;
  const size = properties.contentLength ?? 0;

  const session = SessionId.safeParse(sessionId).success ? await findSessionForIndexing(db, sessionId) : undefined;
  if (!session) {
    await deleteVersion(blob, etag);
    logger.warn(`Deleted ${blob.name} (ETag ${etag}, ${size} bytes): no session has this id.`);
    return { outcome: 'orphan_deleted', etag };
  }

  if (size > deps.maxBytes) {
    // Recorded first, then deleted: a retry after a failed delete finds the row done and deletes again.
    await recordIfCurrent(db, blob, sessionId, etag, {
      status: 'invalid',
      sizeBytes: null, // nothing is stored any more (storage metering sums size_bytes)
      sha256: null,
      eventCount: null,
      eventCounts: null,
      firstTs: null,
      lastTs: null,
      errors: [{ line: 0, message: `The upload is ${size} bytes; the limit is ${deps.maxBytes}. It has been deleted.` }],
    });
    await deleteVersion(blob, etag);
    logger.warn(`Deleted ${blob.name} (ETag ${etag}): ${size} bytes is over the limit of ${deps.maxBytes}.`);
    return { outcome: 'too_large', etag, sizeBytes: size };
  }

  if (session.indexed_etag === etag) {
    logger.log(`Session ${sessionId} is already indexed for ETag ${etag}; nothing to do.`);
    return { outcome: 'already_indexed', etag };
  }

  await markSessionProcessing(db, sessionId, etag);
  const result = await readTrace(blob, etag);
  if (!result) return { outcome: 'superseded', etag };
  if (result.sizeBytes !== size) {
    throw new Error(`Read ${result.sizeBytes} bytes of ${blob.name} but its ETag ${etag} has ${size}; retrying.`);
  }

  if (!(await recordIfCurrent(db, blob, sessionId, etag, recordOf(result)))) {
    logger.log(`Session ${sessionId}: ETag ${etag} was replaced or indexed meanwhile; result dropped.`);
    return { outcome: 'superseded', etag };
  }
  logger.log(
    `Session ${sessionId} is ${result.valid ? 'ready' : 'invalid'}: ${result.sizeBytes} bytes, ` +
      `${result.eventCount} events, ${result.errorCount} errors (ETag ${etag}).`,
  );
  return { outcome: result.valid ? 'ready' : 'invalid', etag, result };
}

/**
 * Writes the result for `etag` if that is still the blob's version, under a lock on the row: a newer upload's
 * indexing either wrote first (then the blob's ETag differs here and this result is dropped) or waits for this
 * write and then replaces it.
 */
async function recordIfCurrent(
  db: Kysely<Database>,
  blob: BlockBlobClient,
  sessionId: string,
  etag: string,
  record: SessionIndexRecord,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.selectFrom('sessions').select('id').where('id', '=', sessionId).forUpdate().executeTakeFirst();
    const current = await ifExists(blob.getProperties());
    if (current?.etag !== etag) return false;
    return recordSessionIndex(trx, sessionId, etag, record);
  });
}

function recordOf(result: TraceIndexResult): SessionIndexRecord {
  return result.valid
    ? {
        status: 'ready',
        sizeBytes: result.sizeBytes,
        sha256: result.sha256,
        eventCount: result.eventCount,
        eventCounts: result.eventCounts,
        firstTs: result.firstTs,
        lastTs: result.lastTs,
        errors: [],
      }
    : {
        status: 'invalid',
        sizeBytes: result.sizeBytes,
        sha256: result.sha256,
        eventCount: null,
        eventCounts: null,
        firstTs: null,
        lastTs: null,
        errors: result.errors,
      };
}

/**
 * Streams the blob version `etag` through the indexer; undefined when that version is gone (overwritten or
 * deleted: the new version's event does the work). The SDK resumes an interrupted download with the same ETag.
 */
export async function readTrace(blob: BlockBlobClient, etag: string): Promise<TraceIndexResult | undefined> {
  const indexer = new TraceIndexer();
  try {
    const download = await blob.download(0, undefined, { conditions: { ifMatch: etag }, maxRetryRequests: 5 });
    const body = download.readableStreamBody;
    if (body) for await (const chunk of body) indexer.push(chunk as Buffer);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  return indexer.finish();
}

async function deleteVersion(blob: BlockBlobClient, etag: string): Promise<void> {
  try {
    await blob.delete({ conditions: { ifMatch: etag } });
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}

async function ifExists<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/** 404: deleted; 412: the ETag condition failed, so a newer version replaced this one. */
function isGone(error: unknown): boolean {
  const status = statusOf(error);
  return status === 404 || status === 412;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}
