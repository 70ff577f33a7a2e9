// Neutral views of the access review: the reviewer's card (one per grant), its states after a
// decision, escalation or closing, the reminder, and the DPO summary — zh-CN and en in the catalogue.
import '../lookup-messages.ts';
import type { Employee } from '../domain.ts';
import { registerMessages, t } from '../messages.ts';
import { when } from '../views-approval.ts';
import type { Reader } from '../local-time.ts';
import type { Grant } from '../../../policies/grants.ts';
import type { ReviewOutcome } from './service.ts';
import type { DecisionRecord, LookupActivity, PeriodCounts, ReviewCycle, ReviewDecision, ReviewItem } from './types.ts';

registerMessages({
  'review.card.title': { 'zh-CN': '权限复核：{grantee}', en: 'Access review: {grantee}' },
  'review.line.grant': { 'zh-CN': '授权', en: 'Grant' },
  'review.line.target': { 'zh-CN': '范围', en: 'Scope' },
  'review.line.groups': { 'zh-CN': '字段组', en: 'Field groups' },
  'review.line.purpose': { 'zh-CN': '用途', en: 'Purpose' },
  'review.line.grantedBy': { 'zh-CN': '批准人', en: 'Approved by' },
  'review.line.expires': { 'zh-CN': '到期', en: 'Expires' },
  'review.line.lookups': { 'zh-CN': '本期查询', en: 'Lookups this period' },
  'review.lookups': { 'zh-CN': '{lookups} 次，涉及 {customers} 位客户', en: '{lookups} lookups of {customers} customers' },
  'review.lookups.top': { 'zh-CN': '最多：{top}', en: 'most: {top}' },
  'review.segment': { 'zh-CN': '客户分组 {segment}', en: 'segment {segment}' },
  'review.button.keep': { 'zh-CN': '保留', en: 'Keep' },
  'review.button.revoke': { 'zh-CN': '撤销', en: 'Revoke' },
  'review.status.pending': { 'zh-CN': '请在 {deadline} 前决定保留或撤销（周期 {cycle}）。', en: 'Please keep or revoke by {deadline} (cycle {cycle}).' },
  'review.status.escalated': { 'zh-CN': '{reviewer} 未在期限内答复，已升级给您（周期 {cycle}）。', en: '{reviewer} did not answer in time; escalated to you (cycle {cycle}).' },
  'review.status.keep': { 'zh-CN': '{by} 于 {at} 决定保留。', en: 'Kept by {by} at {at}.' },
  'review.status.revoke': { 'zh-CN': '{by} 于 {at} 已撤销。', en: 'Revoked by {by} at {at}.' },
  'review.status.unanswered': { 'zh-CN': '周期 {cycle} 已结束，未答复（已报告数据保护官）。', en: 'Cycle {cycle} closed unanswered (reported to the DPO).' },
  'review.reminder': { 'zh-CN': '提醒：您还有 {count} 项权限复核未处理（周期 {cycle}），请在 {deadline} 前处理。', en: 'Reminder: {count} access review(s) still await you (cycle {cycle}); please answer by {deadline}.' },
  'review.grantee.revoked': { 'zh-CN': '您的授权 {grant} 已在权限复核中被撤销。', en: 'Your grant {grant} was revoked in an access review.' },
  'review.notReviewer': { 'zh-CN': '只有该复核的负责人可以处理，此次操作已记录。', en: 'Only the reviewer responsible may answer this review; this attempt was recorded.' },
  'review.unknown': { 'zh-CN': '找不到该复核。', en: 'That review does not exist.' },
  'review.already': { 'zh-CN': '该复核已由 {by} 于 {at} 处理：{decision}。', en: 'This review was already answered by {by} at {at}: {decision}.' },
  'review.decision.keep': { 'zh-CN': '保留', en: 'keep' },
  'review.decision.revoke': { 'zh-CN': '撤销', en: 'revoke' },
  'review.summary.title': { 'zh-CN': '权限复核周期 {cycle} 汇总', en: 'Access review cycle {cycle}: summary' },
  'review.summary.decisions': { 'zh-CN': '复核 {total} 项：保留 {kept}，撤销 {revoked}，未答复 {unanswered}（其中升级 {escalated}）。', en: '{total} reviews: {kept} kept, {revoked} revoked, {unanswered} unanswered ({escalated} escalated).' },
  'review.summary.activity': { 'zh-CN': '{from} 至 {to}：查询 {lookups}，拒绝 {refusals}，揭示 {reveals}，导出 {exports}，冻结 {freezes}。', en: '{from} to {to}: {lookups} lookups, {refusals} refusals, {reveals} reveals, {exports} exports, {freezes} freezes.' },
});

export interface ReviewCardView {
  reviewId: string;
  title: string;
  lines: { label: string; value: string }[];
  status: string;
  buttons: { decision: ReviewDecision; label: string; style: 'primary' | 'danger' }[];
}

export interface CardFacts { item: ReviewItem; cycle: ReviewCycle; grant: Grant; grantee: string; activity: LookupActivity; deadline: Date }

const name = (e: Employee | null, id: string) => (e ? `${e.name} (${e.employeeId})` : id);

/** The card as the reviewer first sees it: the grant, the grantee's lookups of the period, Keep / Revoke. */
export function reviewCardView(f: CardFacts, reader: Reader, status?: string): ReviewCardView {
  const { locale, timezone } = reader;
  const g = f.grant;
  const target = g.target.kind === 'customers' ? g.target.customerIds.join(', ') : t('review.segment', locale, { segment: g.target.segmentId });
  const top = f.activity.top.map((c) => `${c.customerId} ×${c.count}`).join(', ');
  const lookups = t('review.lookups', locale, { lookups: f.activity.lookups, customers: f.activity.distinctCustomers })
    + (top ? `; ${t('review.lookups.top', locale, { top })}` : '');
  return {
    reviewId: f.item.reviewId,
    title: t('review.card.title', locale, { grantee: f.grantee }),
    lines: [
      { label: t('review.line.grant', locale), value: g.grantId },
      { label: t('review.line.target', locale), value: target },
      { label: t('review.line.groups', locale), value: g.groups.map((x) => t(`group.${x}`, locale)).join(', ') },
      { label: t('review.line.purpose', locale), value: g.purpose },
      { label: t('review.line.grantedBy', locale), value: g.grantedBy.join(', ') },
      { label: t('review.line.expires', locale), value: when(g.expiresAt, timezone) },
      { label: t('review.line.lookups', locale), value: lookups },
    ],
    status: status ?? t('review.status.pending', locale, { deadline: when(f.deadline, timezone), cycle: f.cycle.cycleId }),
    buttons: [
      { decision: 'keep', label: t('review.button.keep', locale), style: 'primary' },
      { decision: 'revoke', label: t('review.button.revoke', locale), style: 'danger' },
    ],
  };
}

/** The same card once it needs no answer any more: the status line says why, the buttons are gone. */
export function settledView(view: ReviewCardView, status: string): ReviewCardView {
  return { ...view, status, buttons: [] };
}

export function decidedStatus(d: DecisionRecord, by: Employee | null, reader: Reader): string {
  return t(`review.status.${d.decision}`, reader.locale, { by: name(by, d.by), at: when(d.at, reader.timezone) });
}

export function alreadyText(d: DecisionRecord, by: Employee | null, reader: Reader): string {
  return t('review.already', reader.locale, { by: name(by, d.by), at: when(d.at, reader.timezone), decision: t(`review.decision.${d.decision}`, reader.locale) });
}

/** What the clicker is told about their Keep / Revoke click, on every platform. */
export function outcomeText(outcome: ReviewOutcome, clicker: Employee, reader: Reader): string {
  switch (outcome.kind) {
    case 'done': return decidedStatus(outcome.record, clicker, reader);
    case 'already': return alreadyText(outcome.decision, outcome.by, reader);
    case 'not_reviewer': return t('review.notReviewer', reader.locale);
    case 'unknown': return t('review.unknown', reader.locale);
  }
}

export interface SummaryFacts { cycle: ReviewCycle; total: number; kept: number; revoked: number; unanswered: number; escalated: number; counts: PeriodCounts }

/** The DPO's summary: counts only, no names, no customers. */
export function summaryText(s: SummaryFacts, reader: Reader): string {
  const { locale, timezone } = reader;
  return [
    t('review.summary.title', locale, { cycle: s.cycle.cycleId }),
    t('review.summary.decisions', locale, { total: s.total, kept: s.kept, revoked: s.revoked, unanswered: s.unanswered, escalated: s.escalated }),
    t('review.summary.activity', locale, { from: when(s.cycle.periodStart, timezone), to: when(s.cycle.openedAt, timezone), ...s.counts }),
  ].join('\n');
}

export { name as employeeLabel };
