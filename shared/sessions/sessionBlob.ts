import { SESSIONS_CONTAINER } from '../storage/layout.js';

/** A session's trace: container `sessions`, blob `<session-id>/input_events.jsonl` (CONTRACT.md, Storage). */
export const INPUT_EVENTS_FILE = 'input_events.jsonl';

export function sessionBlobName(sessionId: string): string {
  return `${sessionId}/${INPUT_EVENTS_FILE}`;
}

/** The session's storage_path: its folder, `sessions/<session-id>/`. */
export function sessionStoragePath(sessionId: string): string {
  return `${SESSIONS_CONTAINER}/${sessionId}/`;
}

/** The blob trigger's path pattern; `{sessionId}` is bound from the blob name. */
export const SESSION_BLOB_TRIGGER_PATH = `${SESSIONS_CONTAINER}/{sessionId}/${INPUT_EVENTS_FILE}`;
