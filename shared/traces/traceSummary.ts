import { storableTextOf, textProblem } from '../validation/storableText.js';
import { MAX_ACTION_LENGTH, type ConvertedEvent, type TracePosition, type TraceRecord } from './canonicalEvent.js';

/**
 * What indexing learns of a trace while its events go by, in memory bounded by the limits below whatever the
 * trace's size: counts by action, the first and last time, the tabs and URLs seen, events dropped (Chrome's
 * non-input events) and skipped (invalid ones, with `skip_invalid_lines`), and the first errors with where they
 * are. Accepted events are queued in `pending` for the caller, who writes them out after each chunk.
 */

export const MAX_REPORTED_ERRORS = 20;
/** Bounds memory and the stored counts: a trace of keyboard, mouse and touch input has a few dozen kinds. */
export const MAX_EVENT_TYPES = 1000;
/** Distinct tabs and URLs are counted up to these (the counts then stop growing). */
export const MAX_COUNTED_TABS = 10_000;
export const MAX_COUNTED_URLS = 100_000;

export type TraceError = { message: string } & ({ line: number } | { index: number } | { entry: string });

/** Where an error is, in words (`line 3`, `event 12`, `input/7.json`), or '' for the upload as a whole. */
export function describeErrorPosition(error: TraceError): string {
  if ('line' in error) return error.line > 0 ? `line ${error.line}` : '';
  if ('index' in error) return `event ${error.index}`;
  return error.entry;
}

export interface TraceSummaryFigures {
  eventCount: number;
  eventCounts: Record<string, number>;
  /** Earliest and latest event time, before the clock's origin is applied (null without events). */
  firstTime: number | null;
  lastTime: number | null;
  tabCount: number;
  urlCount: number;
  droppedEventCount: number;
  /** Invalid events left out (each is also an error). */
  errorCount: number;
  errors: TraceError[];
}

export class TraceSummary {
  readonly pending: TraceRecord[] = [];
  readonly #counts = new Map<string, number>();
  readonly #tabs = new Set<string>();
  readonly #urls = new Set<string>();
  readonly #errors: TraceError[] = [];
  #errorCount = 0;
  #eventCount = 0;
  #dropped = 0;
  #first = Infinity;
  #last = -Infinity;

  get errorCount(): number {
    return this.#errorCount;
  }

  get eventCount(): number {
    return this.#eventCount;
  }

  /** Takes a converted event: counted and queued, or recorded as an error at `position`. */
  add(position: TracePosition, converted: ConvertedEvent): void {
    if (!converted.ok) {
      this.error(position, converted.message);
      return;
    }
    const { facts, record } = converted;
    if (facts.action.length > MAX_ACTION_LENGTH) {
      this.error(position, `The event's action is longer than ${MAX_ACTION_LENGTH} characters.`);
      return;
    }
    const problem = textProblem(facts.action); // actions are stored as the keys of event_counts
    if (problem) {
      this.error(position, `The event's action ${problem}.`);
      return;
    }
    const count = this.#counts.get(facts.action);
    if (count === undefined && this.#counts.size >= MAX_EVENT_TYPES) {
      this.error(position, `The trace has more than ${MAX_EVENT_TYPES} distinct actions.`);
      return;
    }
    this.#counts.set(facts.action, (count ?? 0) + 1);
    if (facts.tab !== undefined && this.#tabs.size < MAX_COUNTED_TABS) this.#tabs.add(facts.tab);
    if (facts.url !== undefined && this.#urls.size < MAX_COUNTED_URLS) this.#urls.add(facts.url);
    this.#eventCount++;
    if (record.time < this.#first) this.#first = record.time;
    if (record.time > this.#last) this.#last = record.time;
    this.pending.push(record);
  }

  drop(): void {
    this.#dropped++;
  }

  /** Messages and entry names may quote the upload: what the database cannot store in them is replaced. */
  error(position: TracePosition, message: string): void {
    this.#errorCount++;
    if (this.#errors.length >= MAX_REPORTED_ERRORS) return;
    const where = 'entry' in position ? { entry: storableTextOf(position.entry) } : position;
    this.#errors.push({ ...where, message: storableTextOf(message) } as TraceError);
  }

  /** An error about the upload as a whole (line 0), listed first. */
  fileError(message: string): void {
    this.#errorCount++;
    this.#errors.unshift({ line: 0, message: storableTextOf(message) });
    if (this.#errors.length > MAX_REPORTED_ERRORS) this.#errors.pop();
  }

  /** Takes the queued events. */
  takePending(): TraceRecord[] {
    return this.pending.splice(0, this.pending.length);
  }

  figures(): TraceSummaryFigures {
    const any = this.#eventCount > 0;
    return {
      eventCount: this.#eventCount,
      eventCounts: Object.fromEntries(this.#counts),
      firstTime: any ? this.#first : null,
      lastTime: any ? this.#last : null,
      tabCount: this.#tabs.size,
      urlCount: this.#urls.size,
      droppedEventCount: this.#dropped,
      errorCount: this.#errorCount,
      errors: [...this.#errors],
    };
  }
}
