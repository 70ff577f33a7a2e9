// Neutral views of audit queries: a compact paged table (one line per event), the chain state, the
// audit help, and the refusals. Everything a row shows is an id or a code (employee ids, customer ids,
// actions): the audit log holds no personal data, so nothing here needs masking beyond what the
// event schema already guarantees. Adapters render these (bot/slack/audit-blocks.ts, Lark).
import type { AuditPage, AuditRow, ChainState } from './audit-query-service.ts';
import { AuditQueryRefused, describeFilter } from './audit-query-service.ts';
import { ErrorCode, isCustosError } from './errors.ts';
import { registerMessages, t, type Locale } from './messages.ts';
import { errorView, noticeView, type View } from './views.ts';

registerMessages({
  'audit.usage': {
    'zh-CN': '用法：/audit who-viewed C-000123 | by @某人 | exports today | actor: customer: action: decision: grant: channel: | since:7d | from:2026-06-01 to:2026-06-07 | 今天/昨天/本周/上周/本月/最近7天 | verify [purpose: 目的]',
    en: 'Usage: /audit who-viewed C-000123 | by @someone | exports today | actor: customer: action: decision: grant: channel: | since:7d | from:2026-06-01 to:2026-06-07 | today/yesterday/this-week/last-week/this-month/last-7-days | verify [purpose: why]',
  },
  'audit.help.title': { 'zh-CN': 'custos 审计查询帮助', en: 'custos audit query help' },
  'audit.help.people': { 'zh-CN': '人员可用 @提及、邮箱或员工编号（E-0012）指定。', en: 'Name people by @mention, e-mail or employee id (E-0012).' },
  'audit.help.audited': { 'zh-CN': '审计查询本身也会被记录。', en: 'Audit queries are themselves recorded in the audit log.' },
  'audit.title': { 'zh-CN': '审计记录（{filters}）', en: 'Audit events ({filters})' },
  'audit.header': { 'zh-CN': '序号 · 时间 · 操作人 · 动作 · 结果 · 场景 · 客户', en: 'seq · time · actor · action · decision · where · customers' },
  'audit.timezone': { 'zh-CN': '时间为 {timezone} 时间', en: 'times in {timezone}' },
  'audit.empty': { 'zh-CN': '没有匹配的审计记录。', en: 'No audit events match.' },
  'audit.footer': { 'zh-CN': '每页最多 {size} 条，按时间倒序。本次查询已记录（{eventId}）。', en: 'Up to {size} per page, newest first. This query was recorded ({eventId}).' },
  'audit.older': { 'zh-CN': '更早 ›', en: 'Older ›' },
  'audit.newer': { 'zh-CN': '‹ 更新', en: '‹ Newer' },
  'audit.export': { 'zh-CN': '导出结果', en: 'Export results' },
  'audit.verify.ok': { 'zh-CN': '审计链完整：共 {events} 条记录{checkpoint}。', en: 'Audit chain intact: {events} events{checkpoint}.' },
  'audit.verify.checkpoint': { 'zh-CN': '，最新签名检查点 #{n} 覆盖至序号 {lastSeq}', en: '; latest signed checkpoint #{n} covers seq {lastSeq}' },
  'audit.verify.broken': { 'zh-CN': '审计链已损坏：第一个问题在序号 {seq}（{problem}），之前 {events} 条已校验。请立即联系安全团队。', en: 'Audit chain BROKEN at seq {seq} ({problem}); {events} events verified before it. Alert the security team now.' },
  'audit.denied': { 'zh-CN': '您无权查询审计日志（原因：{reason}），此次尝试已记录。如需权限请联系 {contact}。', en: 'You may not query the audit log (reason: {reason}); this attempt was recorded. To ask for access contact {contact}.' },
  'audit.purposeRequired': {
    'zh-CN': '您的角色查询审计日志时必须说明目的（PIPL）：在末尾加上 `purpose: 目的`，例如 `audit who-viewed C-000001 purpose: 例行审计抽查`。',
    en: 'Your role must state a purpose for audit queries (PIPL): add `purpose: why` at the end, e.g. `audit who-viewed C-000001 purpose: routine audit check`.',
  },
  'audit.decision.allowed': { 'zh-CN': '允许', en: 'allowed' },
  'audit.decision.denied': { 'zh-CN': '拒绝', en: 'denied' },
  'audit.decision.error': { 'zh-CN': '错误', en: 'error' },
  'audit.problem.empty': { 'zh-CN': '请输入查询条件。', en: 'Please give a filter.' },
  'audit.problem.too_long': { 'zh-CN': '查询过长。', en: 'The query is too long.' },
  'audit.problem.verify_alone': { 'zh-CN': 'verify 不接受其他条件。', en: 'verify takes no filters.' },
  'audit.problem.missing_value': { 'zh-CN': '条件 {token} 缺少取值。', en: 'The filter {token} needs a value.' },
  'audit.problem.unknown_word': { 'zh-CN': '无法理解“{token}”。', en: 'Did not understand "{token}".' },
  'audit.problem.unknown_filter': { 'zh-CN': '没有“{token}”这个条件。', en: 'There is no filter "{token}".' },
  'audit.problem.repeated_filter': { 'zh-CN': '条件 {token} 只能给一次。', en: 'The filter {token} may be given once only.' },
  'audit.problem.empty_range': { 'zh-CN': '开始时间必须早于结束时间。', en: 'The start must be before the end.' },
  'audit.problem.bad_customer': { 'zh-CN': '客户编号格式应为 C-000123。', en: 'Customer ids look like C-000123.' },
  'audit.problem.bad_person': { 'zh-CN': '人员请用 @提及、邮箱或员工编号（E-0012）。', en: 'Name a person by @mention, e-mail or employee id (E-0012).' },
  'audit.problem.unknown_person': { 'zh-CN': '找不到该人员。', en: 'No such employee.' },
  'audit.problem.bad_action': { 'zh-CN': '未知的动作{token}。', en: 'Unknown action {token}.' },
  'audit.problem.bad_decision': { 'zh-CN': '结果只能是 allowed、denied 或 error。', en: 'decision is allowed, denied or error.' },
  'audit.problem.bad_grant': { 'zh-CN': '授权编号格式不正确。', en: 'That is not a grant id.' },
  'audit.problem.bad_channel': { 'zh-CN': '场景只能是 dm、private、public、shared 或 none。', en: 'channel is dm, private, public, shared or none.' },
  'audit.problem.bad_duration': { 'zh-CN': '时长格式如 7d、24h、30m、2w 或 7天。', en: 'Durations look like 7d, 24h, 30m, 2w.' },
  'audit.problem.bad_date': { 'zh-CN': '日期格式如 2026-06-01 或 2026-06-01T09:30。', en: 'Dates look like 2026-06-01 or 2026-06-01T09:30.' },
  'audit.problem.bad_page': { 'zh-CN': '翻页信息无效，请重新查询。', en: 'That page link is invalid; please run the query again.' },
  'audit.problem.purpose_empty': { 'zh-CN': '`purpose:` 后面需要写明目的。', en: '`purpose:` needs a reason after it.' },
  'audit.problem.purpose_too_long': { 'zh-CN': '目的说明过长（最多 200 字）。', en: 'The purpose is too long (200 characters at most).' },
});

export interface AuditTableView {
  kind: 'audit-table';
  title: string;
  header: string;
  rows: string[];
  empty?: string;
  footer: string;
  older?: { label: string; value: string };
  newer?: { label: string; value: string };
  /** "Export results": opens an `audit-export` request (approval path); never a direct download. */
  export?: { label: string; value: string };
}

export type AuditView = AuditTableView | View;

/** The table's columns (its header, split), shared by the chat table and the audit CSV export. */
export function auditColumns(locale: Locale): string[] {
  return t('audit.header', locale).split(' · ');
}

/** A formatter of event times in the reader's time zone (the table and the CSV alike). */
export function auditTimeFormat(timezone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('sv-SE', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * One event as the table's cells. The chat table shortens long customer lists (`maxCustomers`); a file
 * lists them all. Ids and codes only: the log holds no personal data.
 */
export function auditRowCells(r: AuditRow, locale: Locale, fmt: Intl.DateTimeFormat, maxCustomers = Infinity): string[] {
  const customers = r.customerIds.length > maxCustomers
    ? `${r.customerIds.slice(0, maxCustomers).join(', ')} +${r.customerIds.length - maxCustomers}` : r.customerIds.join(', ');
  const decision = t(`audit.decision.${r.decision}`, locale) + (r.reasonCode ? ` (${r.reasonCode})` : '');
  return [`#${r.seq}`, fmt.format(r.occurredAt), r.actorId ?? '—', r.action, decision, r.channelKind, customers || '—'];
}

export function auditTableView(page: AuditPage, locale: Locale, timezone: string): AuditTableView {
  const fmt = auditTimeFormat(timezone);
  const rows = page.rows.map((r) => auditRowCells(r, locale, fmt, 3).join(' · '));
  return {
    kind: 'audit-table',
    title: t('audit.title', locale, { filters: describeFilter(page.filter) }),
    // The zone the times are in, stated once (the rows stay compact).
    header: `${t('audit.header', locale)} (${t('audit.timezone', locale, { timezone })})`,
    rows,
    ...(rows.length === 0 ? { empty: t('audit.empty', locale) } : {}),
    footer: t('audit.footer', locale, { size: page.pageSize, eventId: page.eventId }),
    ...(page.older ? { older: { label: t('audit.older', locale), value: page.older } } : {}),
    ...(page.newer ? { newer: { label: t('audit.newer', locale), value: page.newer } } : {}),
    ...(page.exportQuery ? { export: { label: t('audit.export', locale), value: page.exportQuery } } : {}),
  };
}

export function chainStateView(state: ChainState, locale: Locale): View {
  if (state.ok) {
    const checkpoint = state.checkpoint ? t('audit.verify.checkpoint', locale, { n: state.checkpoint.n, lastSeq: state.checkpoint.lastSeq }) : '';
    return noticeView(t('audit.verify.ok', locale, { events: state.events, checkpoint }));
  }
  return noticeView(t('audit.verify.broken', locale, { seq: state.badSeq ?? '?', problem: state.problem ?? '?', events: state.events }), 'error');
}

export function auditHelpView(locale: Locale): View {
  return { kind: 'help', title: t('audit.help.title', locale), lines: [t('audit.usage', locale), t('audit.help.people', locale), t('audit.help.audited', locale)] };
}

export function auditErrorView(err: unknown, locale: Locale, contact: string): View {
  if (err instanceof AuditQueryRefused) {
    if (err.reason === 'purpose_required') return noticeView(t('audit.purposeRequired', locale), 'refusal');
    if (err.reason === 'purpose_pii') return noticeView(t('lookup.problem.purpose_pii', locale), 'refusal');
    return noticeView(t('audit.denied', locale, { reason: err.denyReason ?? 'no_rule', contact }), 'refusal');
  }
  if (isCustosError(err, ErrorCode.QueryInvalid) && err.details.surface === 'audit') {
    const problem = String(err.details.problem ?? 'empty');
    const token = typeof err.details.token === 'string' ? err.details.token : '';
    return noticeView(`${t(`audit.problem.${problem}`, locale, { token })} ${t('audit.usage', locale)}`, 'refusal');
  }
  return errorView(err, locale, contact);
}
