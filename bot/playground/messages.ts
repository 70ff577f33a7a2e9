// The playground page's own words, registered into the one catalogue (bot/core/messages.ts). Replies in
// the conversation use the lookup flow's keys; these label the page around it.
import { hasMessage, registerMessages } from '../core/messages.ts';

const entries = {
  'playground.title': { 'zh-CN': 'custos 本地演练场', en: 'custos local playground' },
  'playground.warning': {
    'zh-CN': '仅供本地使用：演练场不验证任何身份，任何能访问此页面的人都可以冒充任何员工。请勿暴露到网络上；生产环境请配置 Slack 或飞书。',
    en: 'For local use only: the playground verifies nobody, so anyone who can open this page can act as any employee. Never expose it to a network; configure Slack or Lark for real use.',
  },
  'playground.who': { 'zh-CN': '我是', en: 'I am' },
  'playground.where': { 'zh-CN': '会话', en: 'Conversation' },
  'playground.channel.dm': { 'zh-CN': '与 custos 私信', en: 'Direct message with custos' },
  'playground.channel.private': { 'zh-CN': '私有频道', en: 'Private channel' },
  'playground.channel.public': { 'zh-CN': '公开频道', en: 'Public channel' },
  'playground.channel.shared': { 'zh-CN': '外部共享频道', en: 'Channel shared with another organisation' },
  'playground.members': { 'zh-CN': '频道中的其他成员', en: 'Other channel members' },
  'playground.message': { 'zh-CN': '消息', en: 'Message' },
  'playground.placeholder': { 'zh-CN': '例如：C-000123、pending 或 帮助', en: 'e.g. C-000123 purpose: renewal, pending, or help' },
  'playground.send': { 'zh-CN': '发送', en: 'Send' },
  'playground.log': { 'zh-CN': '对话', en: 'Conversation' },
  'playground.you': { 'zh-CN': '仅您可见', en: 'Only visible to you' },
  'playground.inChannel': { 'zh-CN': '发布到频道', en: 'Posted in the channel' },
  'playground.request.sent': {
    'zh-CN': '申请 {id} 已提交，审批人会在演练场收件箱中看到它（切换到审批人即可；输入 `pending` 可列出待处理的申请）。结果会发到您的收件箱。',
    en: 'Request {id} sent; the approvers see it in their playground inbox (switch to one of them; type `pending` to list pending requests). The outcome comes to your inbox.',
  },
  'playground.request.denied': { 'zh-CN': '已拒绝申请 {id}。', en: 'Request {id} denied.' },
  'playground.inbox': { 'zh-CN': '收件箱', en: 'Inbox' },
  'playground.download': { 'zh-CN': '⬇ 下载导出文件：{title}（{filename}）', en: '⬇ Download the export: {title} ({filename})' },
  'playground.pending.none': { 'zh-CN': '没有待处理的申请。', en: 'Nothing is pending.' },
  'playground.pending.cards': { 'zh-CN': '等待您审批的申请：{count} 条（见下方卡片）。', en: 'Requests waiting for your decision: {count} (cards below).' },
  'playground.pending.mine': { 'zh-CN': '您提交、仍在等待审批的申请：{list}', en: 'Your requests still waiting for a decision: {list}' },
  'playground.working': { 'zh-CN': '处理中…', en: 'Working…' },
  'playground.revealed': { 'zh-CN': '一次性查看已批准', en: 'One-time reveal approved' },
  'playground.revealExpired': { 'zh-CN': '一次性查看已过期', en: 'The one-time reveal has expired' },
  'playground.failed': { 'zh-CN': '请求失败，请重试。', en: 'The request failed; please try again.' },
};

if (!hasMessage('playground.title')) registerMessages(entries);
