// Working hours in the employee's own timezone. The UTC offset of a zone is looked up once per zone and
// quarter hour (every DST change happens on a quarter hour), so the hot path does no Intl formatting.
import type { Settings, Weekday } from '../schema.ts';

const QUARTER = 15 * 60_000;
const DAY_NAMES: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const formatters = new Map<string, Intl.DateTimeFormat | null>();
/** Per zone: quarter-hour index → offset in minutes (null: unknown zone). Numeric keys keep the hot path free of string building. */
const offsets = new Map<string, Map<number, number | null>>();

function formatter(tz: string): Intl.DateTimeFormat | null {
  let f = formatters.get(tz);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    } catch {
      f = null; // unknown zone
    }
    formatters.set(tz, f);
  }
  return f;
}

/** Minutes to add to UTC to get local wall time in `tz`, or null when the zone is unknown. */
function offsetMinutes(tz: string, at: Date): number | null {
  const quarter = Math.floor(at.getTime() / QUARTER);
  let zone = offsets.get(tz);
  if (!zone) {
    zone = new Map();
    offsets.set(tz, zone);
  }
  const cached = zone.get(quarter);
  if (cached !== undefined) return cached;
  const f = formatter(tz);
  let offset: number | null = null;
  if (f) {
    const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
    const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute));
    offset = Math.round((local - Math.floor(at.getTime() / 60_000) * 60_000) / 60_000);
  }
  if (zone.size > 10_000) zone.clear(); // about 100 days of quarters per zone, then start over
  zone.set(quarter, offset);
  return offset;
}

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

const DAY_MS = 86_400_000;
/** Parsed once per settings object: weekday flags (0 = Sunday) and the window in minutes. */
const windows = new WeakMap<Settings, { days: boolean[]; start: number; end: number }>();

function windowOf(settings: Settings): { days: boolean[]; start: number; end: number } {
  let w = windows.get(settings);
  if (!w) {
    const wh = settings.workingHours;
    w = { days: DAY_NAMES.map((d) => wh.days.includes(d)), start: minutesOf(wh.start), end: minutesOf(wh.end) };
    windows.set(settings, w);
  }
  return w;
}

/** Whether `at` falls inside the working hours in `tz`. Unknown zones count as outside (fail closed). */
export function withinWorkingHours(settings: Settings, tz: string, at: Date): boolean {
  const offset = offsetMinutes(tz, at);
  if (offset === null) return false;
  const w = windowOf(settings);
  const local = at.getTime() + offset * 60_000;
  const dayNumber = Math.floor(local / DAY_MS);
  if (!w.days[(((dayNumber + 4) % 7) + 7) % 7]) return false; // 1970-01-01 was a Thursday (4)
  const minutes = Math.floor((local - dayNumber * DAY_MS) / 60_000);
  return minutes >= w.start && minutes < w.end;
}
