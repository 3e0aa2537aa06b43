import { BLOB_CREATED_EVENT_TYPE, blobSubjectPrefix } from '../storage/blobCreatedEvent.js';
import { SESSIONS_CONTAINER, UPLOAD_EVENTS_QUEUE, UPLOADS_CONTAINER } from '../storage/layout.js';

/*
 * Where a session's bytes live (CONTRACT.md, Storage).
 * - Staging, written only by clients through their upload URL: container `uploads`, blob
 *   `<session-id>/<attempt>/<file name>`. Each upload URL (the first, and each one POST /v1/sessions/{id}/upload
 *   issues) names a blob of its own, so that a late write through an old URL can be told apart and ignored.
 * - The session's canonical files, written only by the indexer: container `sessions`, folder `<session-id>/`:
 *   `input_events.jsonl`, `screenshots.jsonl` and `screenshots/<file>` for bundles, `original/<file name>` when
 *   the upload was not already canonical. `.indexing/` holds the indexer's sort runs while it works.
 */

export const INPUT_EVENTS_FILE = 'input_events.jsonl';
export const SCREENSHOTS_MANIFEST_FILE = 'screenshots.jsonl';
export const SCREENSHOTS_FOLDER = 'screenshots';
export const ORIGINAL_FOLDER = 'original';
const WORK_FOLDER = '.indexing';

/** File names a client may give an upload: what is safe as one blob name segment and in a download header. */
export const UPLOAD_FILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function sessionBlobName(sessionId: string): string {
  return `${sessionId}/${INPUT_EVENTS_FILE}`;
}

export function screenshotsManifestBlobName(sessionId: string): string {
  return `${sessionId}/${SCREENSHOTS_MANIFEST_FILE}`;
}

export function screenshotBlobName(sessionId: string, file: string): string {
  return `${sessionId}/${SCREENSHOTS_FOLDER}/${file}`;
}

export function originalBlobName(sessionId: string, fileName: string): string {
  return `${sessionId}/${ORIGINAL_FOLDER}/${fileName}`;
}

export function indexingWorkPrefix(sessionId: string): string {
  return `${sessionId}/${WORK_FOLDER}/`;
}

/** The session's folder in `sessions`: everything the indexer writes for it is under it. */
export function sessionFolderPrefix(sessionId: string): string {
  return `${sessionId}/`;
}

/** The session's storage_path: its folder, `sessions/<session-id>/`. */
export function sessionStoragePath(sessionId: string): string {
  return `${SESSIONS_CONTAINER}/${sessionId}/`;
}

export function stagingBlobName(sessionId: string, attempt: number, fileName: string): string {
  return `${sessionId}/${attempt}/${fileName}`;
}

/** The parts of a staging blob name, or undefined for a name no upload URL was ever issued for. */
export function parseStagingBlobName(name: string): { sessionId: string; attempt: number; fileName: string } | undefined {
  const match = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\/([1-9][0-9]{0,8})\/([^/]+)$/.exec(name);
  if (!match || !UPLOAD_FILE_NAME_PATTERN.test(match[3] as string)) return undefined;
  return { sessionId: (match[1] as string).toLowerCase(), attempt: Number(match[2]), fileName: match[3] as string };
}

/**
 * What feeds the indexer: the Event Grid subscription of BlobCreated events of every staging blob, delivered to the
 * `upload-events` queue (a queue trigger reads it: no blob trigger, which would hand the whole blob to the worker).
 * In Azure infra/modules/uploadEvents.bicep makes it (test/api/infra.test.ts checks that the two agree); locally the
 * host delivers the same events from what it sees uploaded (LOCAL_EVENT_GRID_SUBSCRIPTIONS, set by dev/start.ts).
 */
export const UPLOAD_EVENTS_SUBSCRIPTION = {
  name: 'uploads-blob-created',
  queue: UPLOAD_EVENTS_QUEUE,
  includedEventTypes: [BLOB_CREATED_EVENT_TYPE],
  subjectBeginsWith: blobSubjectPrefix(UPLOADS_CONTAINER),
  subjectEndsWith: '',
};
