// The audit query language admins type after `/audit` (Slack) or `audit` (Lark), parsed into a neutral
// filter. Pure: people are returned as references (mention, e-mail, employee id) that the service
// resolves through the employee directory; dates are resolved against an injected "now" in the asker's
// timezone, so "today" / "今天" means the asker's calendar day.
//   who-viewed C-000123            lookups, shares and reveals of one customer
//   by <@U123> | by ou_… | by @dt1001 | by li@corp.cn | by E-0012   (a mention in any registered platform's form)
//   exports today                  export events
//   actor: customer: action: decision: grant: channel:   (one value each; action takes a,b,c)
//   since:7d | since:24h | from:2026-06-01 to:2026-06-07 | today | yesterday | this-week | last-week
//   | this-month | 今天 | 昨天 | 本周 | 上周 | 本月 | 最近7天
//   purpose: why                   (rest of the line; some roles must state one)
//   verify                         the chain state
import { AUDIT_ACTIONS, type AuditAction } from './audit.ts';
import { CUSTOMER_ID_RE } from './audit-event.ts';
import { CustosError, ErrorCode } from './errors.ts';
import type { PlatformId } from './platform-id.ts';

/**
 * How a person is mentioned in typed text on one platform (its module's `mention`), handed in by the
 * runtime from the registry: the core knows no platform. The pattern covers one whole word; group 1 is
 * the user id on that platform.
 */
export interface MentionForm { platform: PlatformId; pattern: RegExp }

/** A mention may fit several platforms' forms (`<@…>` is Slack's and WeCom's): each is a candidate. */
export type PersonRef =
  | { kind: 'mention'; candidates: { platform: PlatformId; chatUserId: string }[] }
  | { kind: 'email'; email: string }
  | { kind: 'employeeId'; employeeId: string };

export const AUDIT_DECISIONS = ['allowed', 'denied', 'error'] as const;
export const AUDIT_CHANNELS = ['dm', 'private', 'public', 'shared', 'none'] as const;
export type AuditDecision = (typeof AUDIT_DECISIONS)[number];
export type AuditChannel = (typeof AUDIT_CHANNELS)[number];

/** What a query asks for, before people are resolved. Times are absolute instants. */
export interface ParsedAuditFilter {
  actor?: PersonRef;
  customerId?: string;
  actions?: AuditAction[];
  decision?: AuditDecision;
  grantId?: string;
  channelKind?: AuditChannel;
  from?: Date; // inclusive
  to?: Date; // exclusive
}

export type AuditCommand =
  | { kind: 'help' }
  | { kind: 'verify'; purpose?: string }
  | { kind: 'query'; filter: ParsedAuditFilter; purpose?: string };

/** The events "who viewed this customer" means: anything that put the customer's data on a screen. */
export const VIEW_ACTIONS: AuditAction[] = ['lookup', 'share', 'reveal'];
export const EXPORT_ACTIONS: AuditAction[] = ['export.start', 'export.complete', 'export.download'];

export const MAX_AUDIT_QUERY_LENGTH = 500;
const EMPLOYEE_ID_RE = /^E-\d{1,10}$/;
const GRANT_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const EMAIL_RE = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]{2,}$/;

/** A problem with the query text; the code keys the catalogue (`audit.problem.<code>`). */
export function auditQueryInvalid(problem: string, token?: string): CustosError {
  // The token is echoed back only when it cannot be personal data (it failed to parse as a known shape).
  return new CustosError(ErrorCode.QueryInvalid, `audit query: ${problem}`, { problem, surface: 'audit', ...(token ? { token: token.slice(0, 40) } : {}) });
}

export interface ParseContext { now: Date; timezone: string; mentions?: readonly MentionForm[] }

export function parseAuditCommand(text: string, ctx: ParseContext): AuditCommand {
  const raw = text.normalize('NFKC').trim();
  if (raw.length > MAX_AUDIT_QUERY_LENGTH) throw auditQueryInvalid('too_long');
  const [body, purpose] = splitPurpose(raw);
  const tokens = tokenize(body);
  const first = tokens[0]?.toLowerCase();
  if (tokens.length === 0) throw auditQueryInvalid('empty');
  if (first === 'help' || first === '帮助') return { kind: 'help' };
  if (first === 'verify' || first === '校验') {
    if (tokens.length > 1) throw auditQueryInvalid('verify_alone');
    return { kind: 'verify', ...(purpose ? { purpose } : {}) };
  }
  const filter: ParsedAuditFilter = {};
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const lower = tok.toLowerCase();
    const next = (): string => {
      const v = tokens[++i];
      if (v === undefined) throw auditQueryInvalid('missing_value', tok);
      return v;
    };
    if (lower === 'who-viewed' || lower === '谁看过') {
      set(filter, 'customerId', customerId(next()));
      set(filter, 'actions', VIEW_ACTIONS);
    } else if (lower === 'by' || lower === '查看人') {
      set(filter, 'actor', person(next(), ctx));
    } else if (lower === 'exports' || lower === '导出') {
      set(filter, 'actions', EXPORT_ACTIONS);
    } else if (applyDateWord(filter, lower, ctx)) {
      // a date word such as today / 本周
    } else if (lower.includes(':')) {
      const at = tok.indexOf(':');
      const key = lower.slice(0, at);
      const value = tok.slice(at + 1) || next();
      applyKeyValue(filter, key, value, ctx);
    } else {
      throw auditQueryInvalid('unknown_word', safeEcho(tok));
    }
  }
  if (filter.from && filter.to && filter.from >= filter.to) throw auditQueryInvalid('empty_range');
  return { kind: 'query', filter, ...(purpose ? { purpose } : {}) };
}

function applyKeyValue(filter: ParsedAuditFilter, key: string, value: string, ctx: ParseContext): void {
  switch (key) {
    case 'actor': case 'by': case '操作人': set(filter, 'actor', person(value, ctx)); return;
    case 'customer': case '客户': set(filter, 'customerId', customerId(value)); return;
    case 'action': case '动作': set(filter, 'actions', actions(value)); return;
    case 'decision': case '结果': set(filter, 'decision', oneOf(value.toLowerCase(), AUDIT_DECISIONS, 'bad_decision')); return;
    case 'grant': case '授权': {
      if (!GRANT_ID_RE.test(value)) throw auditQueryInvalid('bad_grant');
      set(filter, 'grantId', value); return;
    }
    case 'channel': case '频道': set(filter, 'channelKind', oneOf(value.toLowerCase(), AUDIT_CHANNELS, 'bad_channel')); return;
    case 'since': case '最近': set(filter, 'from', new Date(ctx.now.getTime() - duration(value))); return;
    case 'from': case '从': set(filter, 'from', date(value, ctx, 'start')); return;
    case 'to': case '到': set(filter, 'to', date(value, ctx, 'end')); return;
    default: throw auditQueryInvalid('unknown_filter', safeEcho(key));
  }
}

function set<K extends keyof ParsedAuditFilter>(filter: ParsedAuditFilter, key: K, value: ParsedAuditFilter[K]): void {
  if (filter[key] !== undefined) throw auditQueryInvalid('repeated_filter', key);
  filter[key] = value;
}

/** `purpose:` takes the rest of the line (it is free text); everything before it is filters. */
function splitPurpose(text: string): [string, string | undefined] {
  const m = /(?:^|\s)(?:purpose|目的)\s*[:：]\s*/i.exec(text);
  if (!m) return [text, undefined];
  const purpose = text.slice(m.index + m[0].length).trim();
  if (!purpose) throw auditQueryInvalid('purpose_empty');
  if (purpose.length > 200) throw auditQueryInvalid('purpose_too_long');
  return [text.slice(0, m.index), purpose];
}

/** Splits on whitespace; `key: value` with a space after the colon (or a full-width colon) stays one filter. */
function tokenize(text: string): string[] {
  return text.replace(/：/g, ':').replace(/(\S):\s+/g, '$1:').split(/\s+/).filter(Boolean);
}

function customerId(value: string): string {
  const v = value.toUpperCase();
  if (!CUSTOMER_ID_RE.test(v)) throw auditQueryInvalid('bad_customer');
  return v;
}

function person(value: string, ctx: ParseContext): PersonRef {
  const candidates = (ctx.mentions ?? []).flatMap((f) => {
    const id = f.pattern.exec(value)?.[1];
    return id ? [{ platform: f.platform, chatUserId: id }] : [];
  });
  if (candidates.length > 0) return { kind: 'mention', candidates };
  if (EMPLOYEE_ID_RE.test(value.toUpperCase())) return { kind: 'employeeId', employeeId: value.toUpperCase() };
  if (EMAIL_RE.test(value)) return { kind: 'email', email: value.toLowerCase() };
  throw auditQueryInvalid('bad_person');
}

function actions(value: string): AuditAction[] {
  const list = value.split(',').map((a) => a.trim().toLowerCase()).filter(Boolean);
  if (list.length === 0) throw auditQueryInvalid('bad_action');
  const known: readonly string[] = AUDIT_ACTIONS;
  const out: AuditAction[] = [];
  for (const a of list) {
    if (a === 'export' || a === 'exports') { out.push(...EXPORT_ACTIONS); continue; }
    if (!known.includes(a)) throw auditQueryInvalid('bad_action', safeEcho(a));
    out.push(a as AuditAction);
  }
  return [...new Set(out)];
}

function oneOf<T extends string>(value: string, allowed: readonly T[], problem: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw auditQueryInvalid(problem);
  return value as T;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const MAX_DURATION_MS = 3660 * 86_400_000; // ten years: beyond retention anyway

/** `7d`, `24h`, `30m`, `2w`, `7天`, `24小时`. */
function duration(value: string): number {
  const m = /^(\d{1,5})\s*(m|h|d|w|分钟|小时|天|周)$/i.exec(value.trim());
  if (!m) throw auditQueryInvalid('bad_duration');
  const unit = ({ 分钟: 'm', 小时: 'h', 天: 'd', 周: 'w' } as Record<string, string>)[m[2]!] ?? m[2]!.toLowerCase();
  const ms = Number(m[1]) * UNIT_MS[unit]!;
  if (ms <= 0 || ms > MAX_DURATION_MS) throw auditQueryInvalid('bad_duration');
  return ms;
}

/** A calendar date (start or end of that day in the asker's timezone) or a local date and time. */
function date(value: string, ctx: ParseContext, edge: 'start' | 'end'): Date {
  const m = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2}))?$/.exec(value.trim());
  const word = wordRange(value.toLowerCase(), ctx);
  if (word) return edge === 'start' ? word.from : word.to;
  if (!m) throw auditQueryInvalid('bad_date');
  const [y, mo, d, hh, mm] = [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? undefined : Number(m[4]), Number(m[5] ?? 0)];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || (hh !== undefined && hh > 23)) throw auditQueryInvalid('bad_date');
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1) throw auditQueryInvalid('bad_date');
  if (hh !== undefined) return localToUtc(ctx.timezone, y, mo, d, hh, mm);
  const start = localToUtc(ctx.timezone, y, mo, d, 0, 0);
  return edge === 'start' ? start : localToUtc(ctx.timezone, ...nextDay(y, mo, d), 0, 0);
}

function applyDateWord(filter: ParsedAuditFilter, word: string, ctx: ParseContext): boolean {
  const range = wordRange(word, ctx);
  if (!range) return false;
  set(filter, 'from', range.from);
  if (range.to.getTime() <= ctx.now.getTime()) set(filter, 'to', range.to);
  return true;
}

/** Date words as a [from, to) range of local days in the asker's timezone. */
function wordRange(word: string, ctx: ParseContext): { from: Date; to: Date } | null {
  const [y, mo, d, weekday] = localDate(ctx.timezone, ctx.now);
  const day = (offset: number): Date => localToUtc(ctx.timezone, ...addDays(y, mo, d, offset), 0, 0);
  const recent = /^(?:最近|近|last-?)(\d{1,3})(?:天|d|-?days?)$/.exec(word);
  if (recent) return { from: day(1 - Number(recent[1])), to: day(1) };
  switch (word) {
    case 'today': case '今天': case '今日': return { from: day(0), to: day(1) };
    case 'yesterday': case '昨天': case '昨日': return { from: day(-1), to: day(0) };
    case 'this-week': case '本周': case '这周': return { from: day(-weekday), to: day(7 - weekday) };
    case 'last-week': case '上周': return { from: day(-weekday - 7), to: day(-weekday) };
    case 'this-month': case '本月': return { from: localToUtc(ctx.timezone, y, mo, 1, 0, 0), to: localToUtc(ctx.timezone, ...nextMonth(y, mo), 1, 0, 0) };
    default: return null;
  }
}

/** Year, month, day and weekday (Monday = 0) of `at` in `timezone`. */
function localDate(timezone: string, at: Date): [number, number, number, number] {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short' }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday'));
  return [Number(get('year')), Number(get('month')), Number(get('day')), weekday];
}

/** The UTC instant of a wall-clock time in `timezone` (two passes handle offsets that change that day). */
export function localToUtc(timezone: string, y: number, mo: number, d: number, hh: number, mm: number): Date {
  const wall = Date.UTC(y, mo - 1, d, hh, mm);
  let guess = wall - offsetMs(timezone, new Date(wall));
  guess = wall - offsetMs(timezone, new Date(guess));
  return new Date(guess);
}

function offsetMs(timezone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

function addDays(y: number, mo: number, d: number, days: number): [number, number, number] {
  const t = new Date(Date.UTC(y, mo - 1, d + days));
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
}
function nextDay(y: number, mo: number, d: number): [number, number, number] { return addDays(y, mo, d, 1); }
function nextMonth(y: number, mo: number): [number, number] { return mo === 12 ? [y + 1, 1] : [y, mo + 1]; }

/** Echo a bad word back only when it cannot be personal data (short, no digits runs, no @). */
function safeEcho(token: string): string | undefined {
  return /^[A-Za-z_.\-\u4e00-\u9fff]{1,24}$/.test(token) ? token : undefined;
}
