/**
 * Times inside traces. Every event's time is held as microseconds (a JS number: epoch microseconds stay below 2^53
 * until the year 2255), either since the Unix epoch (an absolute clock) or since an origin of the trace's own (a
 * relative clock, such as Chrome's monotonic `ts`).
 *
 * The canonical trace writes them the way the Tracepipe recorder does (Python's `datetime.isoformat()` of an
 * aware UTC datetime): `2026-01-06T20:30:01.337745+00:00`, always six fractional digits and a `+00:00` offset, so
 * that the pipelines service (Python) reads them with `datetime.fromisoformat` on any Python 3.
 */

export const MICROSECONDS_PER_SECOND = 1_000_000;
const MICROSECONDS_PER_MILLISECOND = 1_000;
/** Years the canonical form can write (four digits, and never before the epoch). */
const MIN_TIME = 0;
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999) * MICROSECONDS_PER_MILLISECOND + 999;
/** Longer strings are refused before the pattern runs: no timestamp needs more. */
const MAX_TIMESTAMP_LENGTH = 64;

/*
 * ISO 8601 / RFC 3339 date-time with a UTC offset: date, `T` (or a space, as Python's str() writes it), time with
 * seconds, any number of fractional digits (after `.` or `,`), then `Z` or an offset of hours, hours and minutes,
 * with or without the colon. Anchored and without nested repetition, so it runs in linear time on any input.
 */
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,30}))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

/** `canonical`: the value is already written as formatIsoTimestamp writes it. */
export type ParsedTime = { ok: true; time: number; canonical: boolean } | { ok: false; message: string };

/**
 * Microseconds since the epoch of an ISO 8601 timestamp with an offset. Digits beyond microseconds are dropped
 * (truncated, not rounded, so that an event never moves past the next microsecond); a timestamp without an offset
 * is refused, since its instant is unknown.
 */
export function parseIsoTimestamp(value: string): ParsedTime {
  const fast = parseCanonicalTimestamp(value);
  if (fast !== undefined) return { ok: true, time: fast, canonical: true };
  if (value.length > MAX_TIMESTAMP_LENGTH) return { ok: false, message: 'is not an ISO 8601 timestamp' };
  const match = ISO_TIMESTAMP.exec(value);
  if (!match) {
    return /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?$/.test(value)
      ? { ok: false, message: 'has no UTC offset (add "Z" or "+00:00")' }
      : { ok: false, message: 'is not an ISO 8601 timestamp (e.g. 2026-01-06T20:30:01.337745+00:00)' };
  }
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, offsetHours, offsetMinutes] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, message: 'has a date that does not exist' };
  }
  // 60 is a leap second, which the epoch count cannot name: it is read as the last microsecond of that minute.
  if (hour > 23 || minute > 59 || second > 60) return { ok: false, message: 'has a time of day that does not exist' };
  let offset = 0;
  if (!zulu) {
    const oh = Number(offsetHours);
    const om = Number(offsetMinutes ?? '0');
    if (oh > 23 || om > 59) return { ok: false, message: 'has a UTC offset that does not exist' };
    offset = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const micros = Number((fraction ?? '').padEnd(6, '0').slice(0, 6));
  const leap = second === 60;
  const millis = Date.UTC(year, month - 1, day, hour, minute, leap ? 59 : second) - offset * 60_000;
  const time = millis * MICROSECONDS_PER_MILLISECOND + (leap ? MICROSECONDS_PER_SECOND - 1 : micros);
  if (!(time >= MIN_TIME && time <= MAX_TIME)) return { ok: false, message: 'is outside the years 1970 to 9999' };
  return { ok: true, time, canonical: false };
}

/** The canonical form of a time in microseconds since the epoch (whole microseconds; fractions are dropped). */
export function formatIsoTimestamp(time: number): string {
  const whole = Math.floor(time);
  const millis = Math.floor(whole / MICROSECONDS_PER_MILLISECOND);
  const iso = new Date(millis).toISOString(); // 2026-01-06T20:30:01.337Z
  const micros = String(whole - millis * MICROSECONDS_PER_MILLISECOND).padStart(3, '0');
  return `${iso.slice(0, 23)}${micros}+00:00`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/*
 * The recorder writes every timestamp in the canonical form, and a trace's events share their minute with the ones
 * around them: the canonical form is read digit by digit, with the minute's epoch milliseconds kept from the last
 * event. Anything else (or a minute that does not exist) goes through the general pattern above.
 */
let cachedMinute = '';
let cachedMinuteMillis = 0;

function parseCanonicalTimestamp(value: string): number | undefined {
  if (value.length !== 32 || value.charCodeAt(10) !== 0x54 || value.charCodeAt(19) !== 0x2e || !value.endsWith('+00:00')) return undefined;
  const minute = value.slice(0, 16);
  if (minute !== cachedMinute) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(minute)) return undefined;
    const year = Number(minute.slice(0, 4));
    const month = Number(minute.slice(5, 7));
    const day = Number(minute.slice(8, 10));
    const hour = Number(minute.slice(11, 13));
    const minutes = Number(minute.slice(14, 16));
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minutes > 59) return undefined;
    cachedMinute = minute;
    cachedMinuteMillis = Date.UTC(year, month - 1, day, hour, minutes);
  }
  const tens = value.charCodeAt(17) - 0x30;
  const units = value.charCodeAt(18) - 0x30;
  if (tens < 0 || tens > 5 || units < 0 || units > 9) return undefined; // a leap second takes the general path
  const seconds = tens * 10 + units;
  let micros = 0;
  for (let index = 20; index < 26; index++) {
    const digit = value.charCodeAt(index) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    micros = micros * 10 + digit;
  }
  if (value.charCodeAt(16) !== 0x3a) return undefined;
  return (cachedMinuteMillis + seconds * 1000) * MICROSECONDS_PER_MILLISECOND + micros;
}
