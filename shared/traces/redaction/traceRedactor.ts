import { isObject } from '../canonicalEvent.js';
import { isPasswordAutocomplete, PasswordFields } from './passwordFields.js';
import { emailSpans, mayHoldCardNumber, MASKS, RedactionCounts, RedactionRules, type RedactionRuleSettings } from './redactionRules.js';

/**
 * Redaction at ingestion, for one trace: each element of the upload, as its format's reader has parsed it, is
 * redacted before it is converted, so that the canonical event is made of the masked values and the original can
 * be written with the same masks (the element re-serialized) without parsing anything twice.
 *
 * What each kind of element gets:
 * - `recorder` (recorder JSON Lines, a bundle's `input/<n>.json`, Tracepipe's line form): password fields
 *   (passwordFields.ts), then the content rules on every text value;
 * - `rrweb`: input events on a password input (`type=password` or a password autocomplete, from the DOM snapshots)
 *   get their `text` masked (rrweb masks them itself unless told not to), the snapshots' values of those inputs
 *   too, then the content rules;
 * - `document` (a Chrome trace event or member, a screenshot's JSON): the content rules only (Chrome's trace
 *   carries no key values).
 * Values are masked in place: the element was parsed for this trace alone. Object keys are left as they are.
 */

export type ElementKind = 'recorder' | 'rrweb' | 'document';

const RRWEB_INCREMENTAL = 3;
const RRWEB_FULL_SNAPSHOT = 2;
const RRWEB_SOURCE_MUTATION = 0;
const RRWEB_SOURCE_INPUT = 5;
const MAX_RRWEB_PASSWORD_NODES = 10_000;

export class TraceRedactor {
  readonly counts = new RedactionCounts();
  readonly #rules: RedactionRules;
  readonly #passwords = new PasswordFields();
  readonly #rrwebPasswordNodes = new Set<number>();

  constructor(rules: RedactionRules) {
    this.#rules = rules;
  }

  /**
   * The element with what must not be kept masked (`masked` when anything was; the value may then be a new
   * object). `text` is the element's JSON as uploaded, when the caller has it: a quick look at it saves walking
   * elements that cannot match.
   */
  redact<T>(kind: ElementKind, value: T, text?: string): { value: T; masked: boolean } {
    const before = this.counts.total;
    let result: unknown = value;
    if (kind === 'recorder' && isObject(value)) result = this.#passwords.redact(value, this.counts);
    else if (kind === 'rrweb' && isObject(value)) this.#redactRrwebPasswords(value);
    if (this.#rules.any && (text === undefined || this.#mayMatch(text))) result = this.#maskStrings(result);
    const masked = this.counts.total !== before;
    return { value: (masked ? result : value) as T, masked };
  }

  /**
   * False only when no content rule can match any text value of the element: its JSON has no escape (so every
   * value's characters appear in it as they are) and neither a card number nor an e-mail address is in it. User
   * patterns may be anchored, so they are always checked on the values themselves.
   */
  #mayMatch(text: string): boolean {
    if (this.#rules.hasPatterns || text.includes('\\')) return true;
    if (this.#rules.cardNumbers && mayHoldCardNumber(text)) return true;
    return this.#rules.emailAddresses && text.includes('@') && emailSpans(text).length > 0;
  }

  /** Every text value, however deep, through the content rules; without recursion (the depth is the upload's). */
  #maskStrings(root: unknown): unknown {
    if (typeof root === 'string') return this.#rules.maskText(root, this.counts);
    const stack: unknown[] = [root];
    while (stack.length > 0) {
      const node = stack.pop();
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
          const item: unknown = node[i];
          if (typeof item === 'string') node[i] = this.#rules.maskText(item, this.counts);
          else if (typeof item === 'object' && item !== null) stack.push(item);
        }
      } else if (isObject(node)) {
        for (const key of Object.keys(node)) {
          const item = node[key];
          if (typeof item === 'string') node[key] = this.#rules.maskText(item, this.counts);
          else if (typeof item === 'object' && item !== null) stack.push(item);
        }
      }
    }
    return root;
  }

  /** rrweb: password inputs from the snapshots; their values there, and the input events on them, masked. */
  #redactRrwebPasswords(event: Record<string, unknown>): void {
    const data = isObject(event.data) ? event.data : undefined;
    if (!data) return;
    if (event.type === RRWEB_FULL_SNAPSHOT) this.#rrwebPasswordInputs(data.node);
    if (event.type !== RRWEB_INCREMENTAL) return;
    if (data.source === RRWEB_SOURCE_MUTATION && Array.isArray(data.adds)) {
      for (const add of data.adds) if (isObject(add)) this.#rrwebPasswordInputs(add.node);
    }
    if (data.source === RRWEB_SOURCE_INPUT && typeof data.id === 'number' && this.#rrwebPasswordNodes.has(data.id)) {
      if (typeof data.text === 'string' && data.text !== '' && data.text !== MASKS.password) {
        data.text = MASKS.password;
        this.counts.add('password');
      }
    }
  }

  #rrwebPasswordInputs(root: unknown): void {
    const stack: unknown[] = [root];
    while (stack.length > 0) {
      const node = stack.pop();
      if (!isObject(node)) continue;
      const attributes = isObject(node.attributes) ? node.attributes : undefined;
      if (attributes && typeof node.id === 'number' && isRrwebPasswordInput(node.tagName, attributes)) {
        if (this.#rrwebPasswordNodes.size < MAX_RRWEB_PASSWORD_NODES) this.#rrwebPasswordNodes.add(node.id);
        if (typeof attributes.value === 'string' && attributes.value !== '' && attributes.value !== MASKS.password) {
          attributes.value = MASKS.password;
          this.counts.add('password');
        }
      }
      if (Array.isArray(node.childNodes)) for (const child of node.childNodes) stack.push(child);
    }
  }
}

function isRrwebPasswordInput(tagName: unknown, attributes: Record<string, unknown>): boolean {
  if (typeof tagName !== 'string' || tagName.toLowerCase() !== 'input') return false;
  const type = attributes.type;
  return (typeof type === 'string' && type.toLowerCase() === 'password') || isPasswordAutocomplete(attributes.autocomplete);
}

/** What every user gets unless their settings say otherwise: passwords, and card numbers. */
export const DEFAULT_REDACTION_RULES: RedactionRuleSettings = { emailAddresses: false, cardNumbers: true, patterns: [] };

export function defaultRedactor(): TraceRedactor {
  return new TraceRedactor(new RedactionRules(DEFAULT_REDACTION_RULES));
}
