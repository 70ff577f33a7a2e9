// The demo's clock: `custos demo --at 2026-06-30T10:30+08:00` makes the demo company's "now" that time,
// moving forward in real time from there. Working hours, grant expiry, reminders and audit times all read
// the one injected Clock, so the README's story (a sales rep in Shanghai office hours) works at any hour.
// Without --at the real time is used, and the demo says when the story's rep is outside their hours.
import { InvalidArgumentError } from 'commander';
import { systemClock, type Clock } from '../core/ports.ts';
import type { WorkingHours } from '../core/working-hours.ts';

/** `--at`: an ISO 8601 time with a zone (Z or ±HH:MM), so that it means one moment. */
export function parseDemoTime(value: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new InvalidArgumentError('expected an ISO 8601 time with a zone, e.g. 2026-06-30T10:30+08:00');
  }
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new InvalidArgumentError('expected a real date and time, e.g. 2026-06-30T10:30+08:00');
  return at;
}

/** A clock that reads `at` now and runs on at the real clock's pace. */
export function demoClock(at: Date, real: Clock = systemClock): Clock {
  const offset = at.getTime() - real.now().getTime();
  return { now: () => new Date(real.now().getTime() + offset) };
}

const WEEK = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/**
 * A suggestion for `--at` when the story's rep is outside their hours: two and a half hours after the
 * start of the most recent working day (today's, when today is one) in `timezone`, as local time with
 * its offset — what a person would type.
 */
export function suggestedDemoTime(now: Date, hours: WorkingHours, timezone: string): string {
  for (let back = 0; back < 7; back++) {
    const day = new Date(now.getTime() - back * 86_400_000);
    const local = localParts(day, timezone);
    if (!hours.days.includes(WEEK[local.weekday]!)) continue;
    const [h, m] = hours.start.split(':').map(Number) as [number, number];
    const minutes = Math.min(h * 60 + m + 150, 23 * 60);
    const hhmm = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
    return `${local.date}T${hhmm}${local.offset}`;
  }
  return now.toISOString();
}

function localParts(at: Date, timezone: string): { date: string; weekday: number; offset: string } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short', timeZoneName: 'longOffset' }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const offset = get('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday')), offset };
}
