import { canonicalLine, isObject, type ConvertedEvent } from './canonicalEvent.js';
import { parseIsoTimestamp } from './traceTime.js';

/**
 * Chrome's Trace Event Format as Chromium writes it (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU):
 * `{"traceEvents":[...],"metadata":{...}}` or a bare array of events. User input shows up as `EventDispatch`
 * events (category devtools.timeline) whose `args.data.type` is the DOM event's type; key values and coordinates
 * are not in the trace. Those become canonical events; every other event (InputLatency::*, EventTiming, paint,
 * layout, metadata...) is counted as dropped.
 *
 * `ts` is microseconds on a monotonic clock (`metadata["clock-domain"]`), not epoch time. The wall time comes from
 * the metadata when there is any: DevTools' `startTime` (ISO 8601, when recording started) or Chromium's
 * `trace-capture-datetime` (`"2026-12-1 21:22:54"`, UTC, whole seconds, taken as tracing starts:
 * content/browser/tracing/tracing_controller_impl.cc). Either is anchored to the trace's earliest `ts`; the
 * capture datetime is only as precise as its whole second. Without metadata, times are relative.
 */

/** DOM event types dispatched by user input (and what input directly causes: focus, change, submit, scroll). */
const INPUT_TYPES = new Set([
  'keydown', 'keyup', 'keypress', 'input', 'beforeinput', 'compositionstart', 'compositionupdate', 'compositionend',
  'paste', 'copy', 'cut', 'click', 'dblclick', 'auxclick', 'contextmenu', 'mousedown', 'mouseup', 'mousemove',
  'wheel', 'scroll', 'dragstart', 'drag', 'dragend', 'dragenter', 'dragleave', 'dragover', 'drop', 'focus', 'blur',
  'change', 'submit', 'select',
]);
const INPUT_TYPE_PREFIXES = ['pointer', 'touch'];

export function isChromeInputType(type: string): boolean {
  return INPUT_TYPES.has(type) || INPUT_TYPE_PREFIXES.some((prefix) => type.startsWith(prefix));
}

/** The members of a trace object that hold events, and what the anchor is read from. */
export const CHROME_EVENT_ARRAYS = new Set(['traceEvents']);
export const CHROME_METADATA_MEMBER = 'metadata';

/**
 * Converts one element of `traceEvents`: an input event, `dropped` for any other event, or an error. Keeps the
 * per-trace state: the tabs (renderer processes, numbered in order of their first input event) and the earliest
 * `ts`, the origin that the metadata's wall time is anchored to.
 */
export class ChromeTraceConverter {
  readonly #tabs = new Map<number | string, number>();
  #earliestTs = Infinity;
  #wallStart: { time: number; precise: boolean } | undefined;

  convert(event: unknown): ConvertedEvent | 'dropped' {
    if (!isObject(event)) return { ok: false, message: 'The trace event is not a JSON object.' };
    const ts = event.ts;
    if (typeof ts === 'number' && ts > 0 && ts < this.#earliestTs) this.#earliestTs = ts;
    if (event.name !== 'EventDispatch') return 'dropped';
    const data = isObject(event.args) && isObject(event.args.data) ? event.args.data : undefined;
    const type = data?.type;
    if (typeof type !== 'string' || !isChromeInputType(type)) return 'dropped';
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) {
      return { ok: false, message: `The ${type} EventDispatch has no numeric \`ts\`.` };
    }
    const pid = typeof event.pid === 'number' || typeof event.pid === 'string' ? event.pid : 0;
    let tab = this.#tabs.get(pid);
    if (tab === undefined) {
      tab = this.#tabs.size + 1;
      this.#tabs.set(pid, tab);
    }
    const { type: _type, ...rest } = data as Record<string, unknown>;
    const info: Record<string, unknown> = { ...rest, pid: event.pid, tid: event.tid };
    if (typeof event.dur === 'number') info.dur = event.dur;
    return {
      ok: true,
      record: { time: ts, text: canonicalLine({ tab, action: type, additional_info: info }, null) },
      facts: { action: type, tab: String(tab) },
    };
  }

  /** Reads the anchor from the trace's `metadata` member (its JSON text). */
  readMetadata(text: string | null): void {
    if (text === null) return;
    let metadata: unknown;
    try {
      metadata = JSON.parse(text);
    } catch {
      return; // metadata that does not parse gives no anchor; the events are still good
    }
    if (!isObject(metadata)) return;
    if (typeof metadata.startTime === 'string') {
      const parsed = parseIsoTimestamp(metadata.startTime);
      if (parsed.ok) {
        this.#wallStart = { time: parsed.time, precise: true };
        return;
      }
    }
    const capture = metadata['trace-capture-datetime'];
    if (typeof capture === 'string') {
      const match = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(capture);
      if (match) {
        const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as number[];
        const iso = `${year}-${pad(month!)}-${pad(day!)}T${pad(hour!)}:${pad(minute!)}:${pad(second!)}Z`;
        const parsed = parseIsoTimestamp(iso);
        if (parsed.ok) this.#wallStart = { time: parsed.time, precise: false };
      }
    }
  }

  /** How many renderer processes had input. */
  get tabCount(): number {
    return this.#tabs.size;
  }

  /**
   * What to add to each `ts` for the time the canonical trace writes: wall time at the earliest `ts` when the
   * metadata gave one (clock absolute), else the earliest `ts` becomes 1970-01-01T00:00:00 (clock relative).
   */
  origin(): { origin: number; clock: 'absolute' | 'relative' } {
    const earliest = Number.isFinite(this.#earliestTs) ? this.#earliestTs : 0;
    if (this.#wallStart) return { origin: this.#wallStart.time - earliest, clock: 'absolute' };
    return { origin: -earliest, clock: 'relative' };
  }
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
