import { RE2JS, RE2JSException } from 're2js';

/**
 * The content rules of redaction at ingestion: what is masked inside any text of a trace, whatever field it is
 * in. Card numbers (on unless the user turns them off), e-mail addresses (opt-in) and the user's own patterns.
 * Passwords are not a content rule: they are recognised by the field they are typed into (passwordFields.ts).
 *
 * Every rule runs in time linear in the text. E-mail addresses and card numbers are found by hand-written scans
 * (a backtracking regular expression for an e-mail address is quadratic on a long run of letters without an `@`);
 * user patterns run on re2js, a JavaScript port of RE2 whose matching is linear by construction, so no pattern can
 * backtrack catastrophically. (The native `re2` package was not used: its install step downloads a prebuilt binary
 * from GitHub and otherwise compiles RE2 and Abseil with node-gyp on every `npm ci`.)
 */

export const MAX_REDACTION_PATTERNS = 20;
export const MAX_PATTERN_LENGTH = 256;
export const PATTERN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** What a masked value is replaced with: fixed, so it says nothing of the length or content it hides. */
export const MASKS = {
  password: '[REDACTED:password]',
  email: '[REDACTED:email]',
  card_number: '[REDACTED:card_number]',
} as const;

export function customMask(name: string): string {
  return `[REDACTED:${name}]`;
}

export type RedactionKind = 'password' | 'email' | 'card_number' | `custom:${string}`;

export interface RedactionPattern {
  name: string;
  pattern: string;
}

export interface RedactionRuleSettings {
  emailAddresses: boolean;
  cardNumbers: boolean;
  patterns: RedactionPattern[];
}

/** Counts of masked values, by kind. */
export class RedactionCounts {
  readonly byKind = new Map<RedactionKind, number>();
  total = 0;

  add(kind: RedactionKind, count = 1): void {
    if (count === 0) return;
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + count);
    this.total += count;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.byKind);
  }
}

/** Why a user pattern cannot be used, or undefined when it can. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'the pattern is empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `the pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (error) {
    if (error instanceof RE2JSException) return `it is not a valid RE2 regular expression: ${error.message}`;
    throw error;
  }
  // A pattern that matches nothing at all would put a mask between every two characters.
  if (compiled.matcher('').find()) return 'the pattern matches the empty string';
  return undefined;
}

interface Span {
  start: number;
  end: number;
}

export class RedactionRules {
  readonly #emails: boolean;
  readonly #cards: boolean;
  readonly #patterns: Array<{ name: string; kind: RedactionKind; mask: string; compiled: RE2JS }>;

  constructor(settings: RedactionRuleSettings) {
    this.#emails = settings.emailAddresses;
    this.#cards = settings.cardNumbers;
    // Patterns are checked when they are saved (patternProblem); one that no longer compiles is a bug here.
    this.#patterns = settings.patterns.map((rule) => ({
      name: rule.name,
      kind: `custom:${rule.name}` as const,
      mask: customMask(rule.name),
      compiled: RE2JS.compile(rule.pattern),
    }));
  }

  /** Whether any content rule is on (when none is, text need not be looked at). */
  get any(): boolean {
    return this.#emails || this.#cards || this.#patterns.length > 0;
  }

  get emailAddresses(): boolean {
    return this.#emails;
  }

  get cardNumbers(): boolean {
    return this.#cards;
  }

  get hasPatterns(): boolean {
    return this.#patterns.length > 0;
  }

  /** The text with every match masked (the same string when nothing matched), counting each mask. */
  maskText(text: string, counts: RedactionCounts): string {
    let result = text;
    if (this.#cards && mayHoldCardNumber(result)) result = replaceSpans(result, cardNumberSpans(result), MASKS.card_number, 'card_number', counts);
    if (this.#emails && result.includes('@')) result = replaceSpans(result, emailSpans(result), MASKS.email, 'email', counts);
    for (const rule of this.#patterns) {
      const matcher = rule.compiled.matcher(result);
      const spans: Span[] = [];
      while (matcher.find()) {
        if (matcher.end() > matcher.start()) spans.push({ start: matcher.start(), end: matcher.end() });
      }
      result = replaceSpans(result, spans, rule.mask, rule.kind, counts);
    }
    return result;
  }
}

function replaceSpans(text: string, spans: Span[], mask: string, kind: RedactionKind, counts: RedactionCounts): string {
  if (spans.length === 0) return text;
  let out = '';
  let from = 0;
  for (const span of spans) {
    out += text.slice(from, span.start) + mask;
    from = span.end;
  }
  counts.add(kind, spans.length);
  return out + text.slice(from);
}

const MIN_CARD_DIGITS = 13;
const MAX_CARD_DIGITS = 19;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isAsciiAlphanumeric(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/**
 * A first look in the regular-expression engine (native, and linear for this pattern: one class repeated, no
 * alternation to retry): every card number cardNumberSpans accepts is such a run, most texts have none. Measured on
 * recorder lines, a fifth of the cost of scanning them in JavaScript.
 */
const CARD_CANDIDATE = /[2-6][\d -]{11,}\d/;

export function mayHoldCardNumber(text: string): boolean {
  return text.length >= MIN_CARD_DIGITS && CARD_CANDIDATE.test(text);
}

/**
 * Payment card numbers: 13 to 19 digits, optionally grouped by single spaces or hyphens, not part of a longer
 * run of letters or digits, starting with 2 to 6 (the major networks' first digits: Mastercard 2 and 5, Amex,
 * Diners and JCB 3, Visa 4, Discover and UnionPay 6; ISO/IEC 7812) and passing the Luhn check. The first-digit
 * rule keeps epoch timestamps in milliseconds (13 digits starting with 1) from reading as cards.
 */
export function cardNumberSpans(text: string): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text.charCodeAt(i)) || (i > 0 && isAsciiAlphanumeric(text.charCodeAt(i - 1)))) {
      i++;
      continue;
    }
    // The longest run of digits with single separators from here.
    const digits: number[] = [];
    let end = i;
    let j = i;
    while (j < text.length) {
      const code = text.charCodeAt(j);
      if (isDigit(code)) {
        digits.push(code - 0x30);
        j++;
        end = j;
      } else if ((code === 0x20 || code === 0x2d) && j + 1 < text.length && isDigit(text.charCodeAt(j + 1)) && digits.length > 0) {
        j++;
      } else {
        break;
      }
      if (digits.length > MAX_CARD_DIGITS) break;
    }
    const bounded = end >= text.length || !isAsciiAlphanumeric(text.charCodeAt(end));
    if (bounded && digits.length >= MIN_CARD_DIGITS && digits.length <= MAX_CARD_DIGITS && isCardNumber(digits)) {
      spans.push({ start: i, end });
    }
    // Past this run (a run too long is no card, and neither is any part of it).
    i = Math.max(end, i + 1);
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  }
  return spans;
}

function isCardNumber(digits: number[]): boolean {
  const first = digits[0] as number;
  if (first < 2 || first > 6) return false;
  let sum = 0;
  for (let k = 0; k < digits.length; k++) {
    let digit = digits[digits.length - 1 - k] as number;
    if (k % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function isLocalPartChar(code: number): boolean {
  // RFC 5322 atext, with dots: A-Z a-z 0-9 ! # $ % & ' * + - / = ? ^ _ ` { | } ~ .
  return isAsciiAlphanumeric(code) || "!#$%&'*+-/=?^_`{|}~.".includes(String.fromCharCode(code));
}

function isDomainChar(code: number): boolean {
  return isAsciiAlphanumeric(code) || code === 0x2d || code === 0x2e;
}

/**
 * E-mail addresses: a local part of RFC 5322 atext characters and dots, `@`, and a domain of at least two labels
 * (letters, digits, hyphens) whose last label has two or more letters. Found from each `@` outwards, so every
 * character is looked at a bounded number of times.
 */
export function emailSpans(text: string): Span[] {
  const spans: Span[] = [];
  let searchFrom = 0;
  let lastEnd = 0;
  for (;;) {
    const at = text.indexOf('@', searchFrom);
    if (at === -1) break;
    searchFrom = at + 1;
    let start = at;
    while (start > lastEnd && isLocalPartChar(text.charCodeAt(start - 1))) start--;
    while (start < at && text.charCodeAt(start) === 0x2e) start++; // a local part does not start with a dot
    if (start === at) continue;
    let end = at + 1;
    while (end < text.length && isDomainChar(text.charCodeAt(end))) end++;
    while (end > at + 1 && (text.charCodeAt(end - 1) === 0x2e || text.charCodeAt(end - 1) === 0x2d)) end--;
    const domain = text.slice(at + 1, end);
    const labels = domain.split('.');
    const top = labels[labels.length - 1] ?? '';
    if (labels.length < 2 || labels.some((label) => label.length === 0) || !/^[A-Za-z]{2,}$/.test(top)) continue;
    spans.push({ start, end });
    lastEnd = end;
    searchFrom = end;
  }
  return spans;
}
