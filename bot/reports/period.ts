// The period a report covers, from `--from` and `--to`. A plain date names a whole UTC day (so
// `--from 2026-11-01 --to 2026-11-30` is November, both ends included); a full ISO time with an offset
// names that instant. Internally the period is [from, end) with `end` exclusive.
import { CustosError, ErrorCode } from '../core/errors.ts';

export interface ReportPeriod { from: Date; end: Date }

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

function invalid(message: string, field: string): CustosError {
  return new CustosError(ErrorCode.ReportInvalid, message, { field });
}

/** A calendar date that exists (2026-02-30 does not), at 00:00 UTC. */
function parseDay(text: string): Date | null {
  const m = DATE_RE.exec(text);
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text ? d : null;
}

function parseBound(text: string, flag: '--from' | '--to'): { at: Date; day: boolean } {
  const value = text.trim();
  const day = parseDay(value);
  if (day) return { at: day, day: true };
  if (TIME_RE.test(value) && !Number.isNaN(Date.parse(value))) return { at: new Date(value), day: false };
  throw invalid(`${flag} "${value.slice(0, 40)}" is not a date: give a day like 2026-11-01 or a time like 2026-11-01T08:00:00+08:00`, flag);
}

export function parsePeriod(from: string | undefined, to: string | undefined): ReportPeriod {
  if (!from) throw invalid('--from is required (a day like 2026-11-01)', '--from');
  if (!to) throw invalid('--to is required (a day like 2026-11-30)', '--to');
  const a = parseBound(from, '--from');
  const b = parseBound(to, '--to');
  const end = new Date(b.at.getTime() + (b.day ? DAY_MS : 1));
  if (a.at.getTime() >= end.getTime()) throw invalid(`--from ${from} is after --to ${to}: the period would be empty`, '--from');
  return { from: a.at, end };
}

/** `2026-11-01 – 2026-11-30` for whole days, else the two instants. */
export function periodLabel(p: ReportPeriod): string {
  const whole = p.from.getTime() % DAY_MS === 0 && p.end.getTime() % DAY_MS === 0;
  if (whole) return `${p.from.toISOString().slice(0, 10)} – ${new Date(p.end.getTime() - DAY_MS).toISOString().slice(0, 10)}`;
  return `${p.from.toISOString()} – ${new Date(p.end.getTime() - 1).toISOString()}`;
}
