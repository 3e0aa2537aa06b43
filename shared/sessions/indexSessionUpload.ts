import { createHash } from 'node:crypto';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import type { Kysely } from 'kysely';
import type { Database, UploadMethod } from '../db/schema.js';
import { deleteBlobFolder } from '../storage/blobFolders.js';
import type { TraceRecord } from '../traces/canonicalEvent.js';
import { RedactionRules } from '../traces/redaction/redactionRules.js';
import { TraceRedactor } from '../traces/redaction/traceRedactor.js';
import { redactionRulesOf } from '../privacy/userSettings.js';
import { findUserSettings } from '../privacy/userSettingsRepository.js';
import { DEFAULT_REORDER_LIMITS, ReorderWindow, type ReorderWindowLimits } from '../traces/reorderWindow.js';
import { detectTraceFormat, DETECTION_BYTES, type TraceFormat } from '../traces/traceFormats.js';
import { createTraceStreamReader, type StreamFormat, type TraceClock, type TraceStreamReader } from '../traces/traceStreamReader.js';
import { TraceSummary, type TraceSummaryFigures } from '../traces/traceSummary.js';
import { formatIsoTimestamp } from '../traces/traceTime.js';
import { isGone, readBundle } from './bundleReader.js';
import { CanonicalTraceWriter, type CommittedTrace } from './canonicalTraceWriter.js';
import { ExternalTraceSort, RUN_BYTES } from './externalTraceSort.js';
import { RedactedOriginal } from './redactedOriginal.js';
import { isSessionGone } from './sessionLifecycleRepository.js';
import { ScreenshotStore } from './screenshotStore.js';
import {
  indexingWorkPrefix,
  originalBlobName,
  parseStagingBlobName,
  sessionBlobName,
  sessionFolderPrefix,
} from './sessionBlob.js';
import {
  claimSessionIndexing,
  findSessionForIndexing,
  holdsIndexingClaim,
  recordSessionIndex,
  type SessionIndexRecord,
} from './sessionRepository.js';
import { recordSessionOutcomeEvent } from './sessionEvents.js';

/**
 * Indexes one upload: reads the staging blob `uploads/<session-id>/<attempt>/<file>` (whatever its format), writes
 * the session's canonical files (`sessions/<id>/input_events.jsonl` in time order, screenshots and their manifest,
 * the original when it was not already canonical), records what it found, then deletes the staging blob. Memory is
 * flat for any size: the upload is streamed once (twice when a JSON Lines trace is too far out of order for the
 * reorder window, or when Chrome's clock is anchored at its end: see ExternalTraceSort), every output is streamed.
 *
 * Safe to run any number of times for one upload, and against later writes:
 * - only the session's current upload URL counts: a blob of an older attempt, or any write after the session is
 *   `ready` or `invalid`, is deleted and changes nothing (the session is immutable once indexed);
 * - the run claims the session with the blob's ETag; a newer upload of the same URL claims it over an older run,
 *   which then drops its result; the result is written only while the claim and the ETag hold;
 * - nothing canonical is visible before it is complete (the trace's blocks are committed last), a run that dies
 *   leaves the session `processing` for the retry (or the settle timer), and the next run clears what it left;
 * - a re-delivered event for an upload already indexed finds its blob deleted, or the result recorded.
 */

export interface IndexerLogger {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

export interface IndexUploadDeps {
  db: Kysely<Database>;
  uploads: ContainerClient;
  sessions: ContainerClient;
  /** Upload size limits by how the upload came (a bundle's unpacked size is held to the same). */
  maxBytes: Record<UploadMethod, number>;
  logger: IndexerLogger;
  /** Tests shrink these to exercise the out-of-order paths with small traces. */
  reorderLimits?: ReorderWindowLimits;
  runBytes?: number;
}

/** Where a ready run's time went, in milliseconds (for the log and the benchmark). */
export interface IndexTimings {
  convert_ms: number;
  write_ms: number;
  original_ms: number;
}

export type IndexOutcome =
  | { outcome: 'ready'; etag: string; format: TraceFormat; figures: TraceSummaryFigures; timings: IndexTimings }
  | { outcome: 'invalid'; etag: string; format: TraceFormat | null; figures: TraceSummaryFigures | null }
  | { outcome: 'ignored' | 'already_indexed' | 'orphan_deleted' | 'superseded'; etag: string }
  | { outcome: 'blob_missing' };

/**
 * `written.etag`, when a BlobCreated event brought the name, is the version that event is about: once the blob
 * holds a newer one, the newer write's own event indexes it (events may come late, twice or out of order).
 */
export async function indexSessionUpload(
  deps: IndexUploadDeps,
  stagingName: string,
  written?: { etag: string },
): Promise<IndexOutcome> {
  const { db, logger } = deps;
  const staging = deps.uploads.getBlockBlobClient(stagingName);
  const properties = await ifExists(staging.getProperties());
  if (!properties) {
    logger.log(`Upload ${stagingName} no longer exists; nothing to index.`);
    return { outcome: 'blob_missing' };
  }
  const etag = properties.etag as string;
  if (written && written.etag.replace(/"/g, '') !== etag.replace(/"/g, '')) {
    logger.log(`Upload ${stagingName}: the event is for ETag ${written.etag}, the blob is now ${etag}; its own event indexes it.`);
    return { outcome: 'superseded', etag };
  }
  const size = properties.contentLength ?? 0;
  const name = parseStagingBlobName(stagingName);
  const session = name ? await findSessionForIndexing(db, name.sessionId) : undefined;
  if (!name || !session) {
    await deleteStaging(staging, etag);
    logger.warn(`Deleted upload ${stagingName} (ETag ${etag}, ${size} bytes): no session has this upload.`);
    return { outcome: 'orphan_deleted', etag };
  }
  if (session.indexed_etag === etag) {
    await deleteStaging(staging, etag); // the run that recorded it died before deleting it
    return { outcome: 'already_indexed', etag };
  }
  if (session.status !== 'awaiting_upload' && session.status !== 'processing' || name.attempt !== session.upload_attempt || name.fileName !== session.upload_file_name) {
    await deleteStaging(staging, etag);
    logger.warn(
      `Ignored and deleted upload ${stagingName} (ETag ${etag}): the session is ${session.status} and its current ` +
        `upload is attempt ${session.upload_attempt} (${session.upload_file_name}); an indexed session does not change.`,
    );
    return { outcome: 'ignored', etag };
  }

  const sessionId = name.sessionId;
  const maxBytes = deps.maxBytes[session.upload_method];
  const refusal =
    properties.blobType !== 'BlockBlob'
      ? `The upload is ${properties.blobType === 'AppendBlob' ? 'an append' : 'a page'} blob; upload a block blob (header x-ms-blob-type: BlockBlob).`
      : size > maxBytes
        ? `The upload is ${size} bytes; the limit is ${maxBytes}. It has been deleted.`
        : size === 0
          ? 'The upload is empty: a trace needs at least one event.'
          : undefined;
  if (refusal) {
    await recordIfCurrent(deps, sessionId, staging, etag, invalidRecord(null, size, null, [{ line: 0, message: refusal }]), false);
    await deleteStaging(staging, etag);
    logger.warn(`Session ${sessionId} is invalid: ${refusal}`);
    return { outcome: 'invalid', etag, format: null, figures: null };
  }

  if (!(await claimSessionIndexing(db, sessionId, etag))) return { outcome: 'superseded', etag };
  await deleteBlobFolder(deps.sessions, sessionFolderPrefix(sessionId)); // what a run that died left behind
  try {
    const indexed = await indexClaimed(deps, {
      sessionId,
      staging,
      etag,
      size,
      fileName: name.fileName,
      maxBytes,
      requested: session.requested_format as TraceFormat | null,
      skipInvalid: session.skip_invalid_lines,
      rules: new RedactionRules(redactionRulesOf(await findUserSettings(db, session.user_id))),
    });
    // Deleted (or erased) while it was read: nothing it wrote may stay. A deleted session gets no new upload, so
    // no other run can be writing in its folder.
    if (indexed.outcome === 'superseded' && (await isSessionGone(db, sessionId))) {
      await deleteBlobFolder(deps.sessions, sessionFolderPrefix(sessionId));
      await deleteStaging(staging, etag);
      logger.log(`Session ${sessionId} was deleted while upload ${stagingName} was indexed; its files were removed.`);
    }
    return indexed;
  } catch (error) {
    if (!isGone(error)) throw error;
    logger.log(`Session ${sessionId}: upload ${stagingName} (ETag ${etag}) was replaced while it was read; result dropped.`);
    return { outcome: 'superseded', etag };
  }
}

interface ClaimedUpload {
  sessionId: string;
  staging: BlockBlobClient;
  etag: string;
  size: number;
  fileName: string;
  maxBytes: number;
  requested: TraceFormat | null;
  skipInvalid: boolean;
  /** The owner's redaction rules (passwords are always masked). */
  rules: RedactionRules;
}

/** The original as it will be kept: a copy of the upload, the upload re-serialized with masks, or none. */
type OriginalPlan =
  | { kind: 'copy' }
  | { kind: 'redacted'; sizeBytes: number; sha256: string; commit(): Promise<void>; abandon(): Promise<void> }
  | { kind: 'none' };

interface Converted {
  format: TraceFormat;
  summary: TraceSummary;
  redactor: TraceRedactor;
  original: OriginalPlan;
  uploadSha256: string;
  clock: TraceClock;
  /**
   * Once the trace is known to be valid: writes the ordered events to the canonical trace and, if `mayCommit`
   * still says so, commits it (else undefined: nothing becomes visible).
   */
  commitTrace(mayCommit: () => Promise<boolean>): Promise<CommittedTrace | undefined>;
  /** Once it is known to be invalid: lets the blocks in flight land, so that nothing is written after this. */
  abandon(): Promise<void>;
  screenshots?: { store: ScreenshotStore; manifest: string[] };
  cleanUp(): Promise<void>;
}

async function indexClaimed(deps: IndexUploadDeps, upload: ClaimedUpload): Promise<IndexOutcome> {
  const { sessionId, etag } = upload;
  const head = await upload.staging.downloadToBuffer(0, Math.min(upload.size, DETECTION_BYTES), {
    conditions: { ifMatch: etag },
  });
  const detected = detectTraceFormat(head, upload.size <= DETECTION_BYTES);
  let format: TraceFormat;
  if (upload.requested && detected.ok && detected.format !== upload.requested) {
    return finishInvalid(deps, upload, upload.requested, null, [
      { line: 0, message: `The upload was declared ${upload.requested}, but it is ${detected.format}. Declare its format, or leave the format out.` },
    ]);
  } else if (upload.requested) {
    format = upload.requested;
  } else if (detected.ok) {
    format = detected.format;
  } else {
    return finishInvalid(deps, upload, null, null, [{ line: 0, message: detected.message }]);
  }

  const started = performance.now();
  const converted = format === 'recorder-bundle' ? await convertBundle(deps, upload) : await convertStream(deps, upload, format);
  const convertedAt = performance.now();
  try {
    const figures = converted.summary.figures();
    if (figures.eventCount === 0 && figures.errorCount === 0) converted.summary.fileError('The trace has no events.');
    const valid = figures.eventCount > 0 && (figures.errorCount === 0 || upload.skipInvalid);
    if (!valid) {
      await converted.abandon();
      if (converted.original.kind === 'redacted') await converted.original.abandon();
      return await finishInvalid(deps, upload, format, converted.uploadSha256, converted.summary.figures().errors);
    }
    const trace = await converted.commitTrace(() => holdsIndexingClaim(deps.db, sessionId, etag));
    if (!trace) return { outcome: 'superseded', etag };
    const writtenAt = performance.now();
    let storedBytes = trace.sizeBytes;
    let screenshotCount = 0;
    if (converted.screenshots && converted.screenshots.manifest.length > 0) {
      await converted.screenshots.store.writeManifest(converted.screenshots.manifest);
      storedBytes += converted.screenshots.store.storedBytes;
      screenshotCount = converted.screenshots.manifest.length;
    }
    // After the conversion, not beside it: the copy is the storage service's work, and it should not slow the read.
    const original = converted.original;
    // A recorder file that is already canonical (once masked) is not stored twice.
    const alreadyCanonical = format === 'recorder-jsonl' && trace.sha256 === (original.kind === 'redacted' ? original.sha256 : converted.uploadSha256);
    let keepOriginal = false;
    if (original.kind === 'redacted') {
      if (alreadyCanonical) await original.abandon();
      else {
        await original.commit();
        storedBytes += original.sizeBytes;
        keepOriginal = true;
      }
    } else if (original.kind === 'copy' && !alreadyCanonical) {
      await copyOriginal(deps, upload);
      storedBytes += upload.size;
      keepOriginal = true;
    }
    const timings = {
      convert_ms: Math.round(convertedAt - started),
      write_ms: Math.round(writtenAt - convertedAt),
      original_ms: Math.round(performance.now() - writtenAt),
    };
    const record = readyRecord(format, upload.size, converted, figures, trace, storedBytes, screenshotCount, keepOriginal ? upload.fileName : null);
    if (!(await recordIfCurrent(deps, sessionId, upload.staging, etag, record, true))) {
      deps.logger.log(`Session ${sessionId}: ETag ${etag} was replaced or indexed meanwhile; result dropped.`);
      return { outcome: 'superseded', etag };
    }
    await deleteStaging(upload.staging, etag);
    deps.logger.log(
      `Session ${sessionId} is ready: ${format}, ${upload.size} bytes, ${figures.eventCount} events, ` +
        `${figures.droppedEventCount} dropped, ${figures.errorCount} skipped, ${screenshotCount} screenshots, ` +
        `${converted.redactor.counts.total} values masked (ETag ${etag}; ${timings.convert_ms} ms reading, ` +
        `${timings.write_ms} ms writing, ${timings.original_ms} ms keeping the original).`,
    );
    return { outcome: 'ready', etag, format, figures, timings };
  } finally {
    await converted.cleanUp();
  }
}

/**
 * A recorder trace as the recorder writes it is already canonical: read once to check that every line is a valid
 * event kept as it is, in time order, and then copied as it is (inside the storage account) to be the canonical
 * trace, with nothing written through this process. At the first line that is not (a timestamp to rewrite, CRLF,
 * an invalid line, an event out of order), the read stops and the trace is converted as any other.
 */
async function verifyAlreadyCanonical(deps: IndexUploadDeps, upload: ClaimedUpload): Promise<Converted | undefined> {
  const summary = new TraceSummary();
  // The owner's rules: a line in which anything would be masked is not kept as it is, so the check stops there.
  const redactor = new TraceRedactor(upload.rules);
  const reader = createTraceStreamReader('recorder-jsonl', summary, { redactor });
  const uploadSha256 = await readThrough(upload, reader, () => {
    summary.takePending(); // nothing to write: the upload is the trace
    return reader.identical;
  });
  if (uploadSha256 === undefined || !reader.identical || summary.eventCount === 0) return undefined;
  return {
    format: 'recorder-jsonl',
    summary,
    redactor,
    original: { kind: 'copy' },
    uploadSha256,
    clock: reader.clock(),
    commitTrace: async (mayCommit) => {
      if (!(await mayCommit())) return undefined;
      const etag = await copyStaging(deps, upload, sessionBlobName(upload.sessionId), 'application/jsonl; charset=utf-8');
      return { sizeBytes: upload.size, sha256: uploadSha256, etag };
    },
    abandon: async () => undefined,
    cleanUp: async () => undefined,
  };
}

/** Every format but the bundle: one stream through the format's reader, ordered on the way or sorted after. */
async function convertStream(deps: IndexUploadDeps, upload: ClaimedUpload, format: StreamFormat): Promise<Converted> {
  if (format === 'recorder-jsonl') {
    const canonical = await verifyAlreadyCanonical(deps, upload);
    if (canonical) return canonical;
  }
  const summary = new TraceSummary();
  const redactor = new TraceRedactor(upload.rules);
  const original = new RedactedOriginal(
    deps.sessions.getBlockBlobClient(originalBlobName(upload.sessionId, upload.fileName)),
    (from, to) => streamRange(upload.staging, upload.etag, from, to),
  );
  const reader = createTraceStreamReader(format, summary, { redactor, rewrite: (span, text) => original.rewrite(span, text) });
  const sorter = new ExternalTraceSort(deps.sessions, indexingWorkPrefix(upload.sessionId), deps.runBytes ?? RUN_BYTES);
  const canonical = () => new CanonicalTraceWriter(deps.sessions.getBlockBlobClient(sessionBlobName(upload.sessionId)));
  const writer = canonical();
  // Formats whose clock is known from the first event stream through a reorder window into the writer at once;
  // Chrome's (anchored by metadata at the end) and any trace too far out of order for the window are sorted.
  const window = reader.anchoredAtEnd ? undefined : new ReorderWindow(deps.reorderLimits ?? DEFAULT_REORDER_LIMITS);
  const ordered: TraceRecord[] = [];
  const take = async () => {
    const records = summary.takePending();
    if (!window) {
      await sorter.add(records);
    } else if (!window.overflowed) {
      for (const record of records) window.add(record, ordered);
      if (!window.overflowed && ordered.length > 0) await writer.write(ordered.splice(0));
    }
  };
  const uploadSha256 = (await readThrough(upload, reader, async (chunk, chunkStart) => {
    if (chunk) await original.feed(chunk, chunkStart, reader.settledBytes);
    await take();
    return true;
  })) as string;
  const clock = reader.clock();
  let plan: OriginalPlan = { kind: 'copy' };
  if (original.active) {
    const staged = await original.finish(upload.size);
    plan = { kind: 'redacted', ...staged, commit: () => original.commit(), abandon: () => original.abandon() };
  }

  const commitTrace = async (mayCommit: () => Promise<boolean>) => {
    let target = writer;
    if (!window) {
      writer.origin = clock.origin;
      await sorter.writeTo(writer);
    } else if (!window.overflowed) {
      window.drain(ordered);
      await writer.write(ordered.splice(0));
    } else {
      // Too far out of order for the window: read the upload again into the sort, and write the trace afresh
      // (the first writer's blocks, in the wrong order, are never committed).
      await writer.abandon();
      const again = new TraceSummary();
      // Masked as in the first pass (the masks and their count are that pass's).
      const rereader = createTraceStreamReader(format, again, { redactor: new TraceRedactor(upload.rules) });
      for await (const chunk of await streamVersion(upload.staging, upload.etag)) {
        rereader.push(chunk);
        await sorter.add(again.takePending());
      }
      rereader.finish();
      await sorter.add(again.takePending());
      target = canonical();
      await sorter.writeTo(target);
    }
    if (!(await mayCommit())) {
      await target.abandon();
      return undefined;
    }
    return target.commit();
  };
  return {
    format,
    summary,
    redactor,
    original: plan,
    uploadSha256,
    clock,
    commitTrace,
    abandon: () => writer.abandon(),
    cleanUp: () => sorter.cleanUp(),
  };
}

async function convertBundle(deps: IndexUploadDeps, upload: ClaimedUpload): Promise<Converted> {
  const summary = new TraceSummary();
  const sorter = new ExternalTraceSort(deps.sessions, indexingWorkPrefix(upload.sessionId), deps.runBytes ?? RUN_BYTES);
  const store = new ScreenshotStore(deps.sessions, upload.sessionId);
  const writer = new CanonicalTraceWriter(deps.sessions.getBlockBlobClient(sessionBlobName(upload.sessionId)));
  const redactor = new TraceRedactor(upload.rules);
  // The upload's sha256 is taken from a download of its own, beside the zip's random access.
  const [uploadSha256, bundle] = await Promise.all([
    sha256OfVersion(upload.staging, upload.etag),
    readBundle({
      blob: upload.staging,
      etag: upload.etag,
      sizeBytes: upload.size,
      maxUnpackedBytes: upload.maxBytes,
      summary,
      onEvents: (records) => sorter.add(records),
      screenshots: store,
      redactor,
    }),
  ]);
  return {
    format: 'recorder-bundle',
    summary,
    redactor,
    // A bundle in which something was masked is not kept: its events are in the canonical trace (masked), its
    // screenshots and their JSON in screenshots/ and the manifest; rewriting the zip would cost a second pass.
    original: redactor.counts.total > 0 ? { kind: 'none' } : { kind: 'copy' },
    uploadSha256,
    clock: { origin: 0, clock: 'absolute' },
    commitTrace: async (mayCommit) => {
      await sorter.writeTo(writer);
      if (!(await mayCommit())) {
        await writer.abandon();
        return undefined;
      }
      return writer.commit();
    },
    abandon: () => writer.abandon(),
    screenshots: { store, manifest: bundle.manifest },
    cleanUp: () => sorter.cleanUp(),
  };
}

function readyRecord(
  format: TraceFormat,
  size: number,
  converted: Converted,
  figures: TraceSummaryFigures,
  trace: CommittedTrace,
  storedBytes: number,
  screenshotCount: number,
  originalFileName: string | null,
): SessionIndexRecord {
  const { origin, clock } = converted.clock;
  const at = (time: number | null) => (time === null || clock !== 'absolute' ? null : formatIsoTimestamp(time + origin));
  return {
    status: 'ready',
    format,
    size_bytes: size,
    sha256: converted.uploadSha256,
    canonical_size_bytes: trace.sizeBytes,
    canonical_sha256: trace.sha256,
    original_file_name: originalFileName,
    event_count: figures.eventCount,
    event_counts: JSON.stringify(figures.eventCounts),
    clock,
    first_event_ts: figures.firstTime === null ? null : figures.firstTime + origin,
    last_event_ts: figures.lastTime === null ? null : figures.lastTime + origin,
    first_event_at: at(figures.firstTime),
    last_event_at: at(figures.lastTime),
    screenshot_count: screenshotCount,
    tab_count: figures.tabCount,
    url_count: figures.urlCount,
    dropped_event_count: figures.droppedEventCount,
    skipped_event_count: figures.errorCount,
    validation_errors: JSON.stringify(figures.errors),
    stored_bytes: storedBytes,
    redactions: converted.redactor.counts.total,
    redaction_counts: JSON.stringify(converted.redactor.counts),
  };
}

function invalidRecord(
  format: TraceFormat | null,
  size: number,
  sha256: string | null,
  errors: TraceSummaryFigures['errors'],
): SessionIndexRecord {
  return {
    status: 'invalid',
    format,
    size_bytes: size,
    sha256,
    validation_errors: JSON.stringify(errors),
    stored_bytes: 0,
  };
}

/** An invalid upload: nothing of it is kept (outputs and the upload deleted), the problems recorded. */
async function finishInvalid(
  deps: IndexUploadDeps,
  upload: ClaimedUpload,
  format: TraceFormat | null,
  sha256: string | null,
  errors: TraceSummaryFigures['errors'],
): Promise<IndexOutcome> {
  await deleteBlobFolder(deps.sessions, sessionFolderPrefix(upload.sessionId));
  if (!(await recordIfCurrent(deps, upload.sessionId, upload.staging, upload.etag, invalidRecord(format, upload.size, sha256, errors), true))) {
    return { outcome: 'superseded', etag: upload.etag };
  }
  await deleteStaging(upload.staging, upload.etag);
  deps.logger.log(`Session ${upload.sessionId} is invalid (${format ?? 'unrecognised'}): ${errors[0]?.message ?? ''}`);
  return { outcome: 'invalid', etag: upload.etag, format, figures: null };
}

/**
 * Writes the result for `etag` if that is still the staging blob's version, under a lock on the row: a newer
 * upload's run either wrote first (then the ETag differs here and this result is dropped) or waits for this write.
 */
async function recordIfCurrent(
  deps: IndexUploadDeps,
  sessionId: string,
  staging: BlockBlobClient,
  etag: string,
  record: SessionIndexRecord,
  claimed: boolean,
): Promise<boolean> {
  return deps.db.transaction().execute(async (trx) => {
    await trx.selectFrom('sessions').select('id').where('id', '=', sessionId).forUpdate().executeTakeFirst();
    const current = await ifExists(staging.getProperties());
    if (current?.etag !== etag) return false;
    const written = await recordSessionIndex(trx, sessionId, etag, record, claimed);
    if (written) await recordSessionOutcomeEvent(trx, written);
    return written !== undefined;
  });
}

/** The original upload, as it came, beside the canonical trace. */
async function copyOriginal(deps: IndexUploadDeps, upload: ClaimedUpload): Promise<void> {
  await copyStaging(deps, upload, originalBlobName(upload.sessionId, upload.fileName));
}

/**
 * The staging blob's version, copied into the session's folder inside the storage account (no bytes through this
 * process). The source needs no SAS: within one account, the copy request's own authorization (Shared Key, or the
 * managed identity's token) covers reading the source (https://learn.microsoft.com/rest/api/storageservices/copy-blob).
 * Azurite, given a SAS, would fetch the whole source through HTTP to check it. Answers the copy's ETag.
 */
async function copyStaging(deps: IndexUploadDeps, upload: ClaimedUpload, targetName: string, contentType?: string): Promise<string> {
  const target = deps.sessions.getBlockBlobClient(targetName);
  const poller = await target.beginCopyFromURL(upload.staging.url, { sourceConditions: { ifMatch: upload.etag } });
  const copied = await poller.pollUntilDone();
  if (copied.copyStatus !== 'success') throw new Error(`Copying ${upload.staging.name} to ${targetName} ended ${copied.copyStatus}.`);
  // A copy takes the source's metadata and headers, which the client chose: nothing of them is kept.
  await target.setMetadata({});
  const headers = await target.setHTTPHeaders({ blobContentType: contentType ?? 'application/octet-stream' });
  return headers.etag as string;
}

/**
 * Streams the upload's version through `reader`, measuring it; `afterChunk` runs after each chunk (given the chunk
 * and where it starts in the upload) and after the end (given none), and stops the read by answering false. Answers the upload's sha256, or undefined when stopped.
 */
async function readThrough(
  upload: ClaimedUpload,
  reader: TraceStreamReader,
  afterChunk: (chunk: Buffer | undefined, chunkStart: number) => boolean | Promise<boolean>,
): Promise<string | undefined> {
  const hash = createHash('sha256');
  let bytesRead = 0;
  for await (const chunk of await streamVersion(upload.staging, upload.etag)) {
    hash.update(chunk);
    reader.push(chunk);
    const chunkStart = bytesRead;
    bytesRead += chunk.length;
    if (!(await afterChunk(chunk, chunkStart))) return undefined;
  }
  reader.finish();
  if (!(await afterChunk(undefined, bytesRead))) return undefined;
  if (bytesRead !== upload.size) throw new Error(`Read ${bytesRead} of ${upload.size} bytes of ${upload.staging.name}; retrying.`);
  return hash.digest('hex');
}

async function streamVersion(blob: BlockBlobClient, etag: string): Promise<AsyncIterable<Buffer>> {
  const download = await blob.download(0, undefined, { conditions: { ifMatch: etag }, maxRetryRequests: 5 });
  return (download.readableStreamBody ?? []) as AsyncIterable<Buffer>;
}

async function* streamRange(blob: BlockBlobClient, etag: string, from: number, to: number): AsyncIterable<Buffer> {
  const download = await blob.download(from, to - from, { conditions: { ifMatch: etag }, maxRetryRequests: 5 });
  yield* (download.readableStreamBody ?? []) as AsyncIterable<Buffer>;
}

async function sha256OfVersion(blob: BlockBlobClient, etag: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await streamVersion(blob, etag)) hash.update(chunk);
  return hash.digest('hex');
}

/** Deletes the staging blob's version (and any snapshot a client made of it). */
async function deleteStaging(blob: BlockBlobClient, etag: string): Promise<void> {
  try {
    await blob.delete({ conditions: { ifMatch: etag }, deleteSnapshots: 'include' });
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}

async function ifExists<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if ((error as { statusCode?: unknown } | null)?.statusCode === 404) return undefined;
    throw error;
  }
}
