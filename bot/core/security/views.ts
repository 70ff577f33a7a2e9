// Neutral views of security operations: the alert card for the security channel and the outcome lines
// its buttons produce, in the catalogue's zh-CN and en.
import { registerMessages, t, type Locale } from '../messages.ts';
import type { AdminOutcome, AnomalyAlert } from './guard.ts';

registerMessages({
  'security.alert.title': { 'zh-CN': '异常访问告警：{employee}', en: 'Anomaly alert: {employee}' },
  'security.alert.detector.distinctCustomers': { 'zh-CN': '{minutes} 分钟内查看了 {count} 位不同客户（阈值 {max}）', en: '{count} distinct customers in {minutes} minutes (threshold {max})' },
  'security.alert.detector.refusals': { 'zh-CN': '{minutes} 分钟内被拒绝 {count} 次（阈值 {max}），含限流', en: '{count} refused lookups in {minutes} minutes (threshold {max}), throttling included' },
  'security.alert.detector.exports': { 'zh-CN': '{minutes} 分钟内导出 {count} 次（阈值 {max}）', en: '{count} exports in {minutes} minutes (threshold {max})' },
  'security.alert.detector.offHours': { 'zh-CN': '{minutes} 分钟内非工作时间查询 {count} 次（阈值 {max}）', en: '{count} off-hours lookups in {minutes} minutes (threshold {max})' },
  'security.alert.frozen': { 'zh-CN': '按策略已自动冻结该用户。', en: 'The user was frozen automatically, as the policy says.' },
  'security.alert.notFrozen': { 'zh-CN': '策略未要求自动冻结。', en: 'The policy does not freeze automatically for this.' },
  'security.alert.evidence': { 'zh-CN': '查看证据：`/audit {query}`', en: 'Evidence: `/audit {query}`' },
  'security.button.unfreeze': { 'zh-CN': '解除冻结', en: 'Unfreeze' },
  'security.button.keep': { 'zh-CN': '保持冻结', en: 'Keep frozen' },
  'security.button.revoke': { 'zh-CN': '撤销全部授权', en: 'Revoke all grants' },
  'security.done.unfreeze': { 'zh-CN': '{by} 已解除冻结。', en: 'Unfrozen by {by}.' },
  'security.done.keep': { 'zh-CN': '{by} 决定保持冻结。', en: 'Kept frozen by {by}.' },
  'security.done.revoke': { 'zh-CN': '{by} 已撤销全部授权（{grants} 项）。', en: 'All grants revoked by {by} ({grants}).' },
  'security.notAllowed': { 'zh-CN': '您无权处理安全告警，此次操作已记录。', en: 'You may not act on security alerts; this attempt was recorded.' },
  'security.notFrozen': { 'zh-CN': '该用户当前未被冻结。', en: 'That user is not frozen.' },
});

export interface AlertView {
  title: string;
  lines: string[];
  employeeId: string;
  buttons: { decision: 'unfreeze' | 'keep' | 'revoke'; label: string }[];
}

export function alertView(alert: AnomalyAlert, employeeName: string, locale: Locale): AlertView {
  return {
    title: t('security.alert.title', locale, { employee: `${employeeName} (${alert.employeeId})` }),
    lines: [
      t(`security.alert.detector.${alert.detector}`, locale, { count: alert.count, max: alert.max, minutes: alert.windowMinutes }),
      t(alert.frozen ? 'security.alert.frozen' : 'security.alert.notFrozen', locale),
      t('security.alert.evidence', locale, { query: alert.auditQuery }),
    ],
    employeeId: alert.employeeId,
    buttons: (['unfreeze', 'keep', 'revoke'] as const).map((d) => ({ decision: d, label: t(`security.button.${d}`, locale) })),
  };
}

export function outcomeLine(outcome: AdminOutcome, by: string, locale: Locale): string {
  switch (outcome.kind) {
    case 'not_allowed': return t('security.notAllowed', locale);
    case 'not_frozen': return t('security.notFrozen', locale);
    case 'done': return t(`security.done.${outcome.decision}`, locale, { by, grants: outcome.grants ?? 0 });
  }
}
