/**
 * Parses a .NET TimeSpan string (`[d.]hh:mm:ss[.fffffff]`), the format host.json and timer schedules use.
 * Answers milliseconds, or undefined when the text is not a TimeSpan.
 */
export function parseTimeSpan(text: string): number | undefined {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, days, hours, minutes, seconds, fraction] = match;
  const ms =
    Number(days ?? 0) * 86_400_000 +
    Number(hours) * 3_600_000 +
    Number(minutes) * 60_000 +
    Number(seconds) * 1_000 +
    (fraction ? Math.round(Number(`0.${fraction}`) * 1_000) : 0);
  return ms;
}
