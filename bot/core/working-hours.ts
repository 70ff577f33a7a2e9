// Working hours as a sentence: an off-hours refusal states the hours, the time zone they are counted in
// and the time it is there now, so a user (or a newcomer trying the demo at night) knows why and until
// when. The hours come from the policy's settings; the zone is the employee's.
import { registerMessages, t, type Locale } from './messages.ts';

export interface WorkingHours { days: readonly string[]; start: string; end: string }

/** What an off-hours refusal carries: the policy's hours, the employee's zone, and the moment refused. */
export interface OffHoursDetail { hours: WorkingHours; timezone: string; at: Date }

const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

registerMessages({
  'hours.day.mon': { 'zh-CN': '周一', en: 'Mon' },
  'hours.day.tue': { 'zh-CN': '周二', en: 'Tue' },
  'hours.day.wed': { 'zh-CN': '周三', en: 'Wed' },
  'hours.day.thu': { 'zh-CN': '周四', en: 'Thu' },
  'hours.day.fri': { 'zh-CN': '周五', en: 'Fri' },
  'hours.day.sat': { 'zh-CN': '周六', en: 'Sat' },
  'hours.day.sun': { 'zh-CN': '周日', en: 'Sun' },
  'hours.range': { 'zh-CN': '{first}至{last}', en: '{first}–{last}' },
  'hours.offHours': {
    'zh-CN': '当前不在您的工作时间内：您的工作时间为 {timezone} 时间{days} {start}–{end}，当地现在是{now}',
    en: 'it is outside your working hours, {days} {start}–{end} {timezone} time; it is now {now} there',
  },
});

/** "周一至周五" / "Mon–Fri" for a run of consecutive days, else the days listed. */
export function describeDays(days: readonly string[], locale: Locale): string {
  const idx = WEEK.map((d, i) => (days.includes(d) ? i : -1)).filter((i) => i >= 0);
  const name = (i: number) => t(`hours.day.${WEEK[i]!}`, locale);
  const consecutive = idx.length > 2 && idx.every((v, k) => k === 0 || v === idx[k - 1]! + 1);
  if (consecutive) return t('hours.range', locale, { first: name(idx[0]!), last: name(idx[idx.length - 1]!) });
  return idx.map(name).join(locale === 'en' ? ', ' : '、');
}

/** "周二 02:15" / "Tue 02:15": the local weekday and time in `timezone`. */
export function localMoment(at: Date, timezone: string, locale: Locale): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${t(`hours.day.${get('weekday').toLowerCase().slice(0, 3)}`, locale)} ${get('hour')}:${get('minute')}`;
}

export function offHoursText(detail: OffHoursDetail, locale: Locale): string {
  return t('hours.offHours', locale, {
    days: describeDays(detail.hours.days, locale), start: detail.hours.start, end: detail.hours.end,
    timezone: detail.timezone, now: localMoment(detail.at, detail.timezone, locale),
  });
}
