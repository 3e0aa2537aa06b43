/**
 * The canonical trace's line: the Tracepipe recorder's event shape, one JSON object per line, keys in the
 * recorder's order: `suite`, `tab`, `url`, `timestamp`, `action`, `selector`, `additional_info`, then anything
 * else the source had. Only `timestamp` and `action` are always there (CONTRACT.md, Storage).
 */

/** Where an event was found in the upload, for the errors a person reads. */
export type TracePosition = { line: number } | { index: number } | { entry: string };

/** A converted event: its time (microseconds, see traceTime.ts) and its canonical line, without the newline. */
export interface TraceRecord {
  time: number;
  /**
   * The line. For formats whose clock is anchored only once the whole upload has been read (Chrome's trace keeps
   * its metadata at the end), the timestamp's value is TIMESTAMP_SLOT and is written when the line is.
   */
  text: string;
  /**
   * Breaks ties between equal times before arrival order does: a bundle's events arrive in zip order (input/10.json
   * before input/9.json) but are numbered in the order they were recorded.
   */
  order?: number;
}

/** A converted event with what the summary counts of it, or why it is not an event. */
export type ConvertedEvent = { ok: true; record: TraceRecord; facts: TraceEventFacts } | { ok: false; message: string };

/** What the session's summary counts of each event. */
export interface TraceEventFacts {
  action: string;
  /** The tab as a key (JSON of the value), when the event names one. */
  tab?: string | undefined;
  url?: string | undefined;
}

/**
 * A control character that JSON.stringify never writes raw (it escapes every character below U+0020), so it
 * cannot collide with anything in a line.
 */
export const TIMESTAMP_SLOT = '\u0001';

export interface CanonicalFields {
  suite?: unknown;
  tab?: unknown;
  url?: unknown;
  action: string;
  selector?: unknown;
  additional_info?: unknown;
  /** Other fields of the source, written after the known ones. */
  extra?: Record<string, unknown>;
}

/** The canonical line of an event; `timestamp` null leaves the slot for the writer. */
export function canonicalLine(fields: CanonicalFields, timestamp: string | null): string {
  let line = '{';
  if (fields.suite !== undefined) line += `"suite":${JSON.stringify(fields.suite)},`;
  if (fields.tab !== undefined) line += `"tab":${JSON.stringify(fields.tab)},`;
  if (fields.url !== undefined) line += `"url":${JSON.stringify(fields.url)},`;
  line += `"timestamp":"${timestamp ?? TIMESTAMP_SLOT}","action":${JSON.stringify(fields.action)}`;
  if (fields.selector !== undefined) line += `,"selector":${JSON.stringify(fields.selector)}`;
  if (fields.additional_info !== undefined) line += `,"additional_info":${JSON.stringify(fields.additional_info)}`;
  if (fields.extra) {
    for (const [key, value] of Object.entries(fields.extra)) {
      if (value !== undefined) line += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
    }
  }
  return `${line}}`;
}

export const MAX_ACTION_LENGTH = 256;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The tab as the summary counts it: any JSON scalar, compared by its JSON text. */
export function tabKey(tab: unknown): string | undefined {
  if (tab === undefined || tab === null) return undefined;
  return typeof tab === 'number' ? String(tab) : JSON.stringify(tab); // 1 and "1" stay apart
}
