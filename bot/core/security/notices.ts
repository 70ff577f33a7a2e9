// Notices to the security channel that are not about one user (no buttons): the audit stream's lag
// alert and the CRM sync's (bot/sync/lag-watch.ts), each with its recovery. They travel the same way as the anomaly alert cards — the Slack channel
// CUSTOS_SECURITY_CHANNEL, the Lark group LARK_SECURITY_CHAT — through the adapters' notice functions
// (bot/slack/security-handlers.ts, bot/lark/security-cards.ts). Sink names only: no PII.
import { registerMessages, t, type Locale } from '../messages.ts';

registerMessages({
  'security.streamLag.title': { 'zh-CN': '审计流告警：{sink} 落后 {lag} 条', en: 'Audit stream alert: {sink} is {lag} events behind' },
  'security.streamLag.body': {
    'zh-CN': '审计事件发往 {sink} 的积压已超过阈值 {threshold} 条（CUSTOS_STREAM_LAG_ALERT）。该接收端可能已停止或无法访问；恢复后会按顺序补发。',
    en: 'Audit events waiting for {sink} passed the threshold of {threshold} (CUSTOS_STREAM_LAG_ALERT). The sink may be down or unreachable; it catches up in order once it is back.',
  },
  'security.streamLag.metric': { 'zh-CN': '指标：custos_audit_stream_lag{sink="{sink}"}', en: 'Metric: custos_audit_stream_lag{sink="{sink}"}' },
  'security.streamLag.recoveredTitle': { 'zh-CN': '审计流已恢复：{sink}', en: 'Audit stream recovered: {sink}' },
  'security.streamLag.recoveredBody': { 'zh-CN': '{sink} 的积压已回落到 {lag} 条（阈值 {threshold}）。', en: '{sink} is back under the threshold: {lag} events behind (threshold {threshold}).' },
  'security.syncLag.title': { 'zh-CN': 'CRM 同步告警：{source} 已 {minutes} 分钟未成功同步', en: 'CRM sync alert: {source} has not synced for {minutes} min' },
  'security.syncLag.body': {
    'zh-CN': '{source} 上次成功同步距今已超过阈值 {threshold} 秒（CUSTOS_SYNC_LAG_ALERT）。查询卡片上的客户数据可能已过时；请用 custos sync status 查看错误。',
    en: '{source} last synced successfully longer ago than the threshold of {threshold} s (CUSTOS_SYNC_LAG_ALERT). Customer data on lookup cards may be stale; see the error with custos sync status.',
  },
  'security.syncLag.metric': { 'zh-CN': '指标：custos_sync_lag_seconds{source="{source}"}', en: 'Metric: custos_sync_lag_seconds{source="{source}"}' },
  'security.syncLag.recoveredTitle': { 'zh-CN': 'CRM 同步已恢复：{source}', en: 'CRM sync recovered: {source}' },
  'security.syncLag.recoveredBody': { 'zh-CN': '{source} 已重新成功同步（阈值 {threshold} 秒）。', en: '{source} synced successfully again (threshold {threshold} s).' },
});

export interface NoticeView {
  /** Stable per notice: lets a platform drop a retried send (Lark's uuid). */
  key: string;
  title: string;
  lines: string[];
  tone: 'alert' | 'recovered';
}

/** Where notices go (the security channel on each configured platform). */
export interface SecurityNotices {
  notice(view: NoticeView): Promise<void>;
}

export function streamLagView(s: { sink: string; lag: number; threshold: number; recovered: boolean; at: Date }, locale: Locale): NoticeView {
  const p = { sink: s.sink, lag: s.lag, threshold: s.threshold };
  return s.recovered
    ? { key: `stream-lag-ok-${s.sink}-${s.at.getTime()}`, tone: 'recovered', title: t('security.streamLag.recoveredTitle', locale, p), lines: [t('security.streamLag.recoveredBody', locale, p)] }
    : {
      key: `stream-lag-${s.sink}-${s.at.getTime()}`, tone: 'alert', title: t('security.streamLag.title', locale, p),
      lines: [t('security.streamLag.body', locale, p), t('security.streamLag.metric', locale, p)],
    };
}

/** A CRM sync source's lag crossed CUSTOS_SYNC_LAG_ALERT (or came back under it). Source names only. */
export function syncLagView(s: { source: string; lagSeconds: number; threshold: number; recovered: boolean; at: Date }, locale: Locale): NoticeView {
  const p = { source: s.source, minutes: Math.floor(s.lagSeconds / 60), threshold: s.threshold };
  return s.recovered
    ? { key: `sync-lag-ok-${s.source}-${s.at.getTime()}`, tone: 'recovered', title: t('security.syncLag.recoveredTitle', locale, p), lines: [t('security.syncLag.recoveredBody', locale, p)] }
    : {
      key: `sync-lag-${s.source}-${s.at.getTime()}`, tone: 'alert', title: t('security.syncLag.title', locale, p),
      lines: [t('security.syncLag.body', locale, p), t('security.syncLag.metric', locale, p)],
    };
}
