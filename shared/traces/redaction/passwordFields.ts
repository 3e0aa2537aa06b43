import { isObject } from '../canonicalEvent.js';
import { MASKS, type RedactionCounts } from './redactionRules.js';

/**
 * Passwords never reach the canonical trace: an event whose target is a password input has every value that could
 * say what was typed (key, code, data, value, and anything else that is not known to be harmless) replaced by a
 * fixed mask, and a form's submitted fields (`additional_info.fields`) have the password fields' values masked.
 *
 * A password input is recognised from what the recorder writes of it:
 * - the recorder's field metadata: `additional_info.input_type` (or `type`, or a `field` object's `type`) of
 *   `password`, or an `autocomplete` of `current-password` / `new-password` there or in the selector;
 * - the selector: `type: password`, or an id, name or class that names a password (`password`, `passwd`,
 *   `passphrase`, `passcode`, `pwd`, in any case, as a word or part of one: `userPassword`, `new-password`); a
 *   string selector (`input[type=password]`, `#password`) likewise;
 * - a field seen earlier in the trace as a password (by its selector's id or name), so that a later event on it,
 *   or a submitted form naming it, is masked even without the metadata.
 * These are the events of the upload in the order they come, so the memory of password fields is per trace and
 * bounded (MAX_KNOWN_FIELDS).
 */

const PASSWORD_NAME = /pass(?:word|wd|phrase|code)|(?:^|[^a-z])pwd(?:[^a-z]|$)/i;
const PASSWORD_AUTOCOMPLETE = /(?:^|\s)(?:current|new)-password(?:\s|$)/i;
const PASSWORD_TYPE_IN_SELECTOR = /\[\s*type\s*=\s*["']?password["']?\s*\]/i;
const PASSWORD_AUTOCOMPLETE_IN_SELECTOR = /\[\s*autocomplete\s*=\s*["']?(?:current|new)-password["']?\s*\]/i;
const MAX_KNOWN_FIELDS = 10_000;

/**
 * Fields of a password input's event that say nothing of what was typed: where the pointer was, which modifier
 * keys were down, what kind of field and event it was. Everything else is masked.
 */
const HARMLESS_FIELDS = new Set([
  'input_type', 'event_input_type', 'type', 'autocomplete', 'trusted', 'repeat', 'ctrl', 'shift', 'alt', 'meta',
  'x', 'y', 'page_x', 'page_y', 'client_x', 'client_y', 'screen_x', 'screen_y', 'offset_x', 'offset_y', 'button',
  'buttons', 'pointer_type', 'pointer_id', 'pressure', 'width', 'height', 'delta_x', 'delta_y', 'delta_mode',
  'scroll_x', 'scroll_y', 'target', 'node_id', 'pid', 'tid', 'dur', 'submitter', 'is_composing', 'detail',
]);

/** The event's own fields that are the recorder's structure, never typed text. */
const STRUCTURAL_FIELDS = new Set(['suite', 'tab', 'url', 'timestamp', 'ts', 'action', 'type', 'name', 'selector', 'additional_info']);

export function isPasswordAutocomplete(value: unknown): boolean {
  return typeof value === 'string' && PASSWORD_AUTOCOMPLETE.test(value);
}

function namesPassword(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 1024 && PASSWORD_NAME.test(value);
}

function describesPasswordField(value: Record<string, unknown>): boolean {
  return (
    value.input_type === 'password' ||
    value.type === 'password' ||
    isPasswordAutocomplete(value.autocomplete) ||
    (isObject(value.field) && describesPasswordField(value.field))
  );
}

export class PasswordFields {
  readonly #known = new Set<string>();

  /** Masks what the event says of a password (the same object when there was nothing to mask). */
  redact(event: Record<string, unknown>, counts: RedactionCounts): Record<string, unknown> {
    const info = isObject(event.additional_info) ? event.additional_info : undefined;
    let result = event;
    if (this.#targetsPassword(event, info)) result = maskTypedValues(event, info, counts);
    const fields = info && isObject(info.fields) ? info.fields : undefined;
    if (fields) {
      const masked = this.#maskSubmittedFields(fields, counts);
      if (masked !== fields) {
        const base = isObject(result.additional_info) ? result.additional_info : (info as Record<string, unknown>);
        result = { ...result, additional_info: { ...base, fields: masked } };
      }
    }
    return result;
  }

  #targetsPassword(event: Record<string, unknown>, info: Record<string, unknown> | undefined): boolean {
    const selector = event.selector;
    // At the top level (Tracepipe's line form keeps unknown fields there), `type` is the event's own type.
    let password = event.input_type === 'password' || isPasswordAutocomplete(event.autocomplete);
    if (info && describesPasswordField(info)) password = true;
    const identities: string[] = [];
    if (isObject(selector)) {
      if (selector.type === 'password' || isPasswordAutocomplete(selector.autocomplete)) password = true;
      for (const key of ['id', 'name'] as const) {
        const value = selector[key];
        if (typeof value === 'string' && value !== '') {
          identities.push(value);
          if (namesPassword(value) || this.#known.has(value)) password = true;
        }
      }
      if (namesPassword(selector.class)) password = true;
    } else if (typeof selector === 'string') {
      identities.push(selector);
      if (
        PASSWORD_TYPE_IN_SELECTOR.test(selector) ||
        PASSWORD_AUTOCOMPLETE_IN_SELECTOR.test(selector) ||
        namesPassword(selector) ||
        this.#known.has(selector)
      ) {
        password = true;
      }
    }
    if (password) {
      for (const identity of identities) if (this.#known.size < MAX_KNOWN_FIELDS) this.#known.add(identity);
    }
    return password;
  }

  /** A form's fields as the recorder submits them (`{name: value}`, or `{name: {value, type, ...}}`). */
  #maskSubmittedFields(fields: Record<string, unknown>, counts: RedactionCounts): Record<string, unknown> {
    let result = fields;
    for (const [name, value] of Object.entries(fields)) {
      const described = isObject(value) ? describesPasswordField(value) : false;
      if (!(described || namesPassword(name) || this.#known.has(name) || this.#known.has(`#${name}`))) continue;
      let masked: unknown;
      if (isObject(value)) {
        if (value.value === undefined || value.value === null || value.value === MASKS.password) continue;
        masked = { ...value, value: MASKS.password };
      } else {
        if (value === null || value === '' || value === MASKS.password) continue;
        masked = MASKS.password;
      }
      if (result === fields) result = { ...fields };
      result[name] = masked;
      counts.add('password');
    }
    return result;
  }
}

/** Every value of the event and its additional_info but the structural and harmless ones, masked. */
function maskTypedValues(
  event: Record<string, unknown>,
  info: Record<string, unknown> | undefined,
  counts: RedactionCounts,
): Record<string, unknown> {
  let result = event;
  for (const [key, value] of Object.entries(event)) {
    if (STRUCTURAL_FIELDS.has(key) || HARMLESS_FIELDS.has(key) || !needsMask(value)) continue;
    if (result === event) result = { ...event };
    result[key] = MASKS.password;
    counts.add('password');
  }
  if (info) {
    let maskedInfo = info;
    for (const [key, value] of Object.entries(info)) {
      if (HARMLESS_FIELDS.has(key) || key === 'fields' || !needsMask(value)) continue;
      if (maskedInfo === info) maskedInfo = { ...info };
      maskedInfo[key] = MASKS.password;
      counts.add('password');
    }
    if (maskedInfo !== info) result = { ...result, additional_info: maskedInfo };
  }
  return result;
}

/** Booleans, null and empty text say nothing of a password; a value already masked stays as it is. */
function needsMask(value: unknown): boolean {
  return value !== null && value !== undefined && typeof value !== 'boolean' && value !== '' && value !== MASKS.password;
}
