import { CronExpressionParser } from 'cron-parser';
import { parseTimeSpan } from './timeSpan.js';

/**
 * A timer trigger's schedule: an NCRONTAB expression with seconds first (`{second} {minute} {hour} {day}
 * {month} {day-of-week}`; five fields are read as minute-first with second 0), or a TimeSpan `hh:mm:ss`, which
 * Azure accepts on App Service plans (https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions).
 * Times are UTC unless WEBSITE_TIME_ZONE names an IANA zone (Linux plans use IANA names).
 */
export interface TimerSchedule {
  readonly expression: string;
  readonly adjustForDST: boolean;
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
  /** The last occurrence at or before `at` (cron only), for the "Last" of a first run. */
  previous(at: Date): Date | undefined;
}

export function parseTimerSchedule(expression: string, timeZone: string): TimerSchedule {
  const text = expression.trim();
  const interval = parseTimeSpan(text);
  if (interval !== undefined) {
    if (interval <= 0) throw new Error(`Timer schedule "${expression}": the interval must be positive.`);
    return {
      expression: text,
      adjustForDST: false,
      next: (after) => new Date(after.getTime() + interval),
      previous: () => undefined,
    };
  }
  const fields = text.split(/\s+/).length;
  if (fields !== 6 && fields !== 5) {
    throw new Error(`Timer schedule "${expression}" is not an NCRONTAB expression (6 fields, seconds first) or a TimeSpan.`);
  }
  // Fails early on a bad expression, as Azure fails the function at indexing.
  CronExpressionParser.parse(text, { tz: timeZone }).next();
  return {
    expression: text,
    adjustForDST: true,
    next: (after) => CronExpressionParser.parse(text, { currentDate: after, tz: timeZone }).next().toDate(),
    previous: (at) =>
      CronExpressionParser.parse(text, { currentDate: new Date(at.getTime() + 1), tz: timeZone }).prev().toDate(),
  };
}

/** Shortest gap between the next few occurrences: Azure monitors schedules whose interval is a minute or more. */
export function shortestIntervalMs(schedule: TimerSchedule, from: Date): number {
  let previous = schedule.next(from);
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 4; i++) {
    const next = schedule.next(previous);
    shortest = Math.min(shortest, next.getTime() - previous.getTime());
    previous = next;
  }
  return shortest;
}

export function timerTimeZone(log: (message: string) => void): string {
  const zone = process.env.WEBSITE_TIME_ZONE?.trim();
  if (!zone) return 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    log(`Time zone "${zone}" is not an IANA name; timers run in UTC.`);
    return 'UTC';
  }
}
