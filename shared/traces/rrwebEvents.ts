import { canonicalLine, isObject, type ConvertedEvent } from './canonicalEvent.js';

/**
 * rrweb recordings (a JSON array of rrweb events, https://github.com/rrweb-io/rrweb/blob/master/packages/types/src/index.ts):
 * `{ type, data, timestamp }` with `timestamp` in epoch milliseconds. The user's input is in the incremental
 * snapshots (type 3), by `data.source`: mouse moves and touch moves (with `positions[].timeOffset`, negative
 * milliseconds), mouse interactions (click, focus, touch...), scroll, viewport resize, input and drag. Meta events
 * (type 4) give the page's URL and viewport. The DOM snapshots (full, and mutations) are not events, but they
 * name the nodes the input targets, so a node map (id -> tag, id, class, as the recorder's `selector`) is kept
 * from them, bounded to MAX_NODES. rrweb masks password inputs itself (`***`).
 */

const EVENT_FULL_SNAPSHOT = 2;
const EVENT_INCREMENTAL = 3;
const EVENT_META = 4;
const NODE_ELEMENT = 2;

/** IncrementalSource. */
const SOURCE = { mutation: 0, mouseMove: 1, mouseInteraction: 2, scroll: 3, viewportResize: 4, input: 5, touchMove: 6, drag: 12 };

/** MouseInteractions, by value, as DOM event types. */
const MOUSE_INTERACTIONS = [
  'mouseup', 'mousedown', 'click', 'contextmenu', 'dblclick', 'focus', 'blur', 'touchstart', 'touchmove', 'touchend',
  'touchcancel',
];
const POINTER_TYPES = ['mouse', 'pen', 'touch'];

/** Nodes remembered for selectors; past this, later nodes go without one. */
export const MAX_RRWEB_NODES = 200_000;
const MICROS_PER_MILLI = 1000;

interface Selector {
  tag: string;
  id: string;
  class: string;
}

type RrwebConversion = ConvertedEvent[] | 'dropped';

export class RrwebConverter {
  readonly #nodes = new Map<number, Selector>();
  #url: string | undefined;

  convert(event: unknown): RrwebConversion {
    if (!isObject(event)) return [{ ok: false, message: 'The rrweb event is not a JSON object.' }];
    const { type, data, timestamp } = event;
    if (typeof type !== 'number' || typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
      return [{ ok: false, message: 'The rrweb event has no numeric `type` and `timestamp`.' }];
    }
    if (!isObject(data)) return type === EVENT_INCREMENTAL || type === EVENT_META ? [{ ok: false, message: 'The rrweb event has no `data` object.' }] : 'dropped';
    const time = Math.floor(timestamp * MICROS_PER_MILLI);
    if (type === EVENT_FULL_SNAPSHOT) {
      this.#nodes.clear();
      this.#rememberTree(data.node);
      return 'dropped';
    }
    if (type === EVENT_META) {
      if (typeof data.href === 'string') this.#url = data.href;
      return [this.#event(time, 'viewport', undefined, { width: data.width, height: data.height })];
    }
    if (type !== EVENT_INCREMENTAL) return 'dropped';
    return this.#incremental(time, data);
  }

  #incremental(time: number, data: Record<string, unknown>): RrwebConversion {
    const id = typeof data.id === 'number' ? data.id : undefined;
    switch (data.source) {
      case SOURCE.mutation:
        if (Array.isArray(data.adds)) for (const add of data.adds) if (isObject(add)) this.#rememberTree(add.node);
        return 'dropped';
      case SOURCE.mouseMove:
      case SOURCE.touchMove:
      case SOURCE.drag: {
        if (!Array.isArray(data.positions)) return [{ ok: false, message: 'The rrweb move has no `positions`.' }];
        const action = data.source === SOURCE.mouseMove ? 'mousemove' : data.source === SOURCE.touchMove ? 'touchmove' : 'drag';
        return data.positions.map((position): ConvertedEvent => {
          if (!isObject(position) || typeof position.x !== 'number' || typeof position.y !== 'number') {
            return { ok: false, message: 'An rrweb position has no numeric `x` and `y`.' };
          }
          const offset = typeof position.timeOffset === 'number' ? position.timeOffset : 0;
          const target = typeof position.id === 'number' ? position.id : undefined;
          return this.#event(time + Math.round(offset * MICROS_PER_MILLI), action, target, { x: position.x, y: position.y });
        });
      }
      case SOURCE.mouseInteraction: {
        const action = typeof data.type === 'number' ? MOUSE_INTERACTIONS[data.type] : undefined;
        if (!action) return [{ ok: false, message: `Unknown rrweb mouse interaction ${String(data.type)}.` }];
        const info: Record<string, unknown> = {};
        if (typeof data.x === 'number') info.x = data.x;
        if (typeof data.y === 'number') info.y = data.y;
        if (typeof data.pointerType === 'number' && POINTER_TYPES[data.pointerType]) info.pointer_type = POINTER_TYPES[data.pointerType];
        return [this.#event(time, action, id, info)];
      }
      case SOURCE.scroll:
        return [this.#event(time, 'scroll', id, { scroll_x: data.x, scroll_y: data.y })];
      case SOURCE.viewportResize:
        return [this.#event(time, 'viewport', undefined, { width: data.width, height: data.height })];
      case SOURCE.input: {
        const info: Record<string, unknown> = { value: data.text };
        if (typeof data.isChecked === 'boolean') info.checked = data.isChecked;
        return [this.#event(time, 'input', id, info)];
      }
      default:
        return 'dropped';
    }
  }

  #event(time: number, action: string, nodeId: number | undefined, info: Record<string, unknown>): ConvertedEvent {
    const selector = nodeId === undefined ? undefined : this.#nodes.get(nodeId);
    const additional = nodeId === undefined ? info : { ...info, node_id: nodeId };
    const text = canonicalLine({ tab: 1, url: this.#url, action, selector, additional_info: additional }, null);
    return { ok: true, record: { time, text }, facts: { action, tab: '1', url: this.#url } };
  }

  /** Walks a serialized DOM tree without recursion (its depth is the page's, which the upload controls). */
  #rememberTree(root: unknown): void {
    const stack: unknown[] = [root];
    while (stack.length > 0) {
      const node = stack.pop();
      if (!isObject(node)) continue;
      if (node.type === NODE_ELEMENT && typeof node.id === 'number' && typeof node.tagName === 'string') {
        if (this.#nodes.size >= MAX_RRWEB_NODES && !this.#nodes.has(node.id)) return;
        const attributes = isObject(node.attributes) ? node.attributes : {};
        this.#nodes.set(node.id, {
          tag: node.tagName.toLowerCase(),
          id: typeof attributes.id === 'string' ? attributes.id : '',
          class: typeof attributes.class === 'string' ? attributes.class : '',
        });
      }
      if (Array.isArray(node.childNodes)) for (const child of node.childNodes) stack.push(child);
    }
  }
}
