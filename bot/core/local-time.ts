// Times as the reader reads them: in the reader's own time zone (the employee directory's `timezone`),
// with the zone named, so "09:30" is never ambiguous between a requester in Shanghai and an approver in
// London reading the same request: "2026-12-03 09:30 (Asia/Shanghai)". Minute precision, 24-hour clock,
// the same digits in every locale.
import type { Locale } from './messages.ts';

/**
 * The zone used when the reader is not one employee (a card posted into a channel) or the directory holds
 * no usable zone: the directory's own default (an imported row without a zone gets this one).
 */
export const DEFAULT_TIMEZONE = 'Asia/Shanghai';

/** Who reads a view: the language and the clock it is written for (an Employee is one). */
export interface Reader { locale: Locale; timezone: string }

const formats = new Map<string, Intl.DateTimeFormat>();

function formatOf(timezone: string): Intl.DateTimeFormat {
  let f = formats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(timezone, f);
  }
  return f;
}

/** A zone Intl knows, else the default (a stored zone is validated on import; this guards older rows). */
export function usableZone(timezone: string | undefined): string {
  if (!timezone) return DEFAULT_TIMEZONE;
  try {
    formatOf(timezone);
    return timezone;
  } catch {
    return DEFAULT_TIMEZONE;
  }
}

/** "2026-12-03 09:30 (Asia/Shanghai)": `at` on the wall clock of `timezone`, the zone named. */
export function localTime(at: Date, timezone: string): string {
  const zone = usableZone(timezone);
  const parts = Object.fromEntries(formatOf(zone).formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} (${zone})`;
}
