import { describeJsonType } from '../jsonl/jsonlObjectReader.js';
import {
  canonicalLine,
  isObject,
  tabKey,
  type ConvertedEvent,
  type TraceEventFacts,
} from './canonicalEvent.js';
import { formatIsoTimestamp, parseIsoTimestamp } from './traceTime.js';

/**
 * The Tracepipe browser recorder's events (`recorder-jsonl`, and each `input/*.json` of a `recorder-bundle`):
 * `{"suite","tab","url","timestamp","action","selector","additional_info"}`, of which `timestamp` (ISO 8601 with
 * a UTC offset, any precision) and `action` are required. Every field is kept, unknown ones too.
 *
 * A line whose timestamp is already canonical is kept byte for byte (`raw`): the canonical trace of a clean
 * recorder file is then the file itself, and nothing has to be written twice. Otherwise the event is written
 * again with its timestamp made canonical, the other fields in their order.
 */

export const MAX_URL_LENGTH = 8192;

export function convertRecorderEvent(event: Record<string, unknown>, raw: string | null): ConvertedEvent {
  const { timestamp, action } = event;
  if (timestamp === undefined) {
    return typeof event.ts === 'number'
      ? { ok: false, message: 'The event has a numeric `ts` and no `timestamp`: a tracepipe-jsonl event in a recorder-jsonl trace.' }
      : { ok: false, message: 'The event has no `timestamp`.' };
  }
  if (typeof timestamp !== 'string') return { ok: false, message: `\`timestamp\` is ${describeJsonType(timestamp)}, not a string.` };
  const parsed = parseIsoTimestamp(timestamp);
  if (!parsed.ok) return { ok: false, message: `\`timestamp\` "${timestamp.slice(0, 64)}" ${parsed.message}.` };
  const problem = checkAction(action) ?? checkOptionalFields(event);
  if (problem) return { ok: false, message: problem };

  const facts: TraceEventFacts = {
    action: action as string,
    tab: tabKey(event.tab),
    url: typeof event.url === 'string' ? event.url : undefined,
  };
  if (raw !== null && parsed.canonical) return { ok: true, record: { time: parsed.time, text: raw }, facts };
  const text = JSON.stringify({ ...event, timestamp: formatIsoTimestamp(parsed.time) });
  return { ok: true, record: { time: parsed.time, text }, facts };
}

export function checkAction(action: unknown): string | undefined {
  if (action === undefined) return 'The event has no `action`.';
  if (typeof action !== 'string') return `\`action\` is ${describeJsonType(action)}, not a string.`;
  if (action.length === 0) return '`action` is empty.';
  return undefined; // its length and text are checked with every format's (TraceSummary)
}

/** The recorder's optional fields, when present, have the recorder's types. */
export function checkOptionalFields(event: Record<string, unknown>): string | undefined {
  const { suite, tab, url, selector, additional_info } = event;
  if (suite !== undefined && suite !== null && typeof suite !== 'string') return `\`suite\` is ${describeJsonType(suite)}, not a string.`;
  if (tab !== undefined && tab !== null && typeof tab !== 'string' && !Number.isInteger(tab)) {
    return `\`tab\` is ${describeJsonType(tab)}, not an integer or a string.`;
  }
  if (url !== undefined && url !== null) {
    if (typeof url !== 'string') return `\`url\` is ${describeJsonType(url)}, not a string.`;
    if (url.length > MAX_URL_LENGTH) return `\`url\` is longer than ${MAX_URL_LENGTH} characters.`;
  }
  if (selector !== undefined && selector !== null && !isObject(selector) && typeof selector !== 'string') {
    return `\`selector\` is ${describeJsonType(selector)}, not an object or a string.`;
  }
  if (additional_info !== undefined && additional_info !== null && !isObject(additional_info)) {
    return `\`additional_info\` is ${describeJsonType(additional_info)}, not an object.`;
  }
  return undefined;
}

const RECORDER_FIELDS = new Set(['suite', 'tab', 'url', 'selector', 'additional_info']);

/**
 * Tracepipe's original line form (`tracepipe-jsonl`): a numeric `ts` in microseconds since the epoch and a string
 * `type` or `name` (`type` wins). It becomes a recorder event: `ts` the timestamp, the type the action; fields the
 * recorder knows keep their place, every other field goes into `additional_info`.
 */
export function convertTracepipeEvent(event: Record<string, unknown>): ConvertedEvent {
  const { ts } = event;
  if (ts === undefined) {
    return typeof event.timestamp === 'string'
      ? { ok: false, message: 'The event has a `timestamp` and no numeric `ts`: a recorder-jsonl event in a tracepipe-jsonl trace.' }
      : { ok: false, message: 'The event has no `ts`.' };
  }
  if (typeof ts !== 'number') return { ok: false, message: `\`ts\` is ${describeJsonType(ts)}, not a number.` };
  if (!(ts >= 0) || ts > 253_402_300_799_999_999) {
    return { ok: false, message: '`ts` must be microseconds since 1970 (0 to the year 9999).' };
  }
  const typeKey = typeof event.type === 'string' ? 'type' : typeof event.name === 'string' ? 'name' : undefined;
  if (typeKey === undefined) return { ok: false, message: 'The event has no string `type` or `name`.' };
  const action = event[typeKey] as string;
  const problem = checkAction(action) ?? checkOptionalFields(event);
  if (problem) return { ok: false, message: problem };

  const info: Record<string, unknown> = isObject(event.additional_info) ? { ...event.additional_info } : {};
  for (const [key, value] of Object.entries(event)) {
    if (key !== 'ts' && key !== typeKey && !RECORDER_FIELDS.has(key)) info[key] = value;
  }
  const text = canonicalLine(
    {
      suite: event.suite ?? undefined,
      tab: event.tab ?? undefined,
      url: event.url ?? undefined,
      action,
      selector: event.selector ?? undefined,
      additional_info: Object.keys(info).length > 0 ? info : undefined,
    },
    formatIsoTimestamp(ts),
  );
  return {
    ok: true,
    record: { time: Math.floor(ts), text },
    facts: { action, tab: tabKey(event.tab), url: typeof event.url === 'string' ? event.url : undefined },
  };
}
