// The lookup flow's sentences and labels, registered into the one catalogue (messages.ts) so both
// chat adapters render the same words. Keys are namespaced `lookup.*`, `field.*`, `group.*`.
import { registerMessages, hasMessage } from './messages.ts';

const entries = {
  'lookup.usage': {
    'zh-CN': '用法：/customer <客户编号 | 手机号 | 座机 | 邮箱 | 身份证号 | 姓名或公司名> [purpose: 目的]，例如 `/customer C-000123 purpose: 续约跟进`。',
    en: 'Usage: /customer <customer id | mobile | landline | e-mail | ID number | name or company> [purpose: why], e.g. `/customer C-000123 purpose: renewal follow-up`.',
  },
  'lookup.help.title': { 'zh-CN': 'custos 客户查询帮助', en: 'custos customer lookup help' },
  'lookup.help.kinds': {
    'zh-CN': '可按客户编号（C-000123）、手机号（可带 +86 和分隔符）、座机（010-12345678）、邮箱、18 位身份证号，或姓名/公司名片段查询。',
    en: 'Look up by customer id (C-000123), mobile (with +86 and separators), landline (010-12345678), e-mail, 18-character ID number, or a name / company fragment.',
  },
  'lookup.help.where': {
    'zh-CN': '在私信中直接发送查询；在频道中使用 /customer 或 @custos，结果仅您可见，可点击“分享到频道”发布按频道中权限最低成员脱敏的版本。',
    en: 'In a DM just send the query; in a channel use /customer or @custos: the result is visible only to you, and "Share in channel" posts the view of the channel\'s least-privileged member.',
  },
  'lookup.help.purpose': {
    'zh-CN': '部分角色需要说明查询目的：在查询后加上 `purpose: 目的`。每次查询都会记录审计日志。',
    en: 'Some roles must state a purpose: add `purpose: why` to the query. Every lookup is recorded in the audit log.',
  },
  'lookup.help.requests': {
    'zh-CN': '删除客户个人信息（管理员）：`/customer erase C-000123 reason: 删除请求编号`，由数据保护官批准后执行。',
    en: 'Erasing a customer\'s personal data (admins): `/customer erase C-000123 reason: REF`, carried out once the DPO approves.',
  },
  'lookup.help.contact': { 'zh-CN': '权限问题请联系：{contact}', en: 'Questions about access: {contact}' },
  'lookup.purposeRequired': {
    'zh-CN': '您的角色查询客户时必须说明目的。请在查询后加上 `purpose: 目的`，例如 `/customer C-000123 purpose: 续约跟进`。',
    en: 'Your role must state a purpose for customer lookups. Add `purpose: why` to the query, e.g. `/customer C-000123 purpose: renewal follow-up`.',
  },
  'lookup.denied': {
    'zh-CN': '您的角色当前无权查询客户（原因：{reason}）。如需权限请联系 {contact}。',
    en: 'Your role may not look up customers right now (reason: {reason}). To ask for access contact {contact}.',
  },
  'lookup.reason.off_hours': { 'zh-CN': '当前不在您的工作时间内', en: 'it is outside your working hours' },
  'lookup.reason.channel_denied': { 'zh-CN': '不能在此类频道中查询', en: 'lookups are not allowed in this kind of channel' },
  // A throttled lookup (bot/core/security): the code itself must never reach the user.
  'lookup.reason.rate_limited': { 'zh-CN': '查询过于频繁，请稍等一分钟后再试', en: 'too many lookups in a short time; wait a minute and try again' },
  'lookup.reason.no_rule': { 'zh-CN': '没有策略允许您的角色查询客户', en: 'no policy lets your role look customers up' },
  'lookup.problem.empty': { 'zh-CN': '请输入要查询的内容。', en: 'Please say what to look up.' },
  'lookup.problem.malformed': { 'zh-CN': '无法识别查询内容的类型。', en: 'The query is not a customer id, phone number, e-mail, ID number or name.' },
  'lookup.problem.too_short': { 'zh-CN': '按姓名或公司查询时请至少输入两个汉字（例如“王芳”）或三个字母（例如“Wan”），或输入客户编号、手机号、邮箱。', en: 'A name or company fragment needs at least two Chinese characters (e.g. "王芳") or three letters (e.g. "Wan"), or give a customer id, phone number or e-mail.' },
  'lookup.idChecksum': { 'zh-CN': '另外，该身份证号的最后一位校验码不正确，可能输错了。', en: 'Also, the check digit (last character) of that ID number is wrong: it may be mistyped.' },
  'lookup.problem.too_long': { 'zh-CN': '查询内容过长。', en: 'The query is too long.' },
  'lookup.problem.purpose_empty': { 'zh-CN': '`purpose:` 后面需要写明目的。', en: '`purpose:` needs a reason after it.' },
  'lookup.problem.purpose_too_long': { 'zh-CN': '目的说明过长（最多 200 字）。', en: 'The purpose is too long (200 characters at most).' },
  'lookup.problem.purpose_pii': {
    'zh-CN': '目的说明中不能包含手机号、邮箱、证件号等个人信息，请改写后重试。',
    en: 'The purpose must not contain personal data such as phone numbers, e-mails or ID numbers; please rephrase it.',
  },
  'lookup.pick.intro': {
    'zh-CN': '找到 {count} 位您可查看的客户，请选择：',
    en: '{count} customers you may see match; pick one:',
  },
  'lookup.pick.introMore': {
    'zh-CN': '您可查看的匹配客户超过 {count} 位，仅列出前 {count} 位；请缩小查询范围，或从中选择：',
    en: 'More than {count} customers you may see match; the first {count} are listed. Narrow the query, or pick one:',
  },
  'lookup.pick.button': { 'zh-CN': '查看', en: 'Open' },
  'lookup.card.freshness': { 'zh-CN': '数据截至 {at}（来自 {source}）', en: 'As of {at} from {source}' },
  'lookup.card.footer': {
    'zh-CN': '已按您的权限脱敏 · 审计编号 {eventId}',
    en: 'Masked for your role · audit ref {eventId}',
  },
  'lookup.card.footerShared': {
    'zh-CN': '由 {asker} 分享 · 已按本频道权限最低的成员脱敏 · 审计编号 {eventId}',
    en: 'Shared by {asker} · masked for the least-privileged member of this channel · audit ref {eventId}',
  },
  'lookup.card.nothingVisible': { 'zh-CN': '（您的角色不可查看其他字段）', en: '(no other fields are visible to your role)' },
  'lookup.share.button': { 'zh-CN': '分享到频道', en: 'Share in channel' },
  'lookup.share.done': {
    'zh-CN': '已分享到频道（按频道中权限最低的成员脱敏）。',
    en: 'Shared in the channel, masked for its least-privileged member.',
  },
  'lookup.share.purposeRequired': {
    'zh-CN': '本频道中有成员每次查看客户都须本人说明用途，分享的用途不能代替他们说明，因此未分享任何内容。请私下发送，或请对方自行查询并说明用途。',
    en: 'Someone in this channel must state their own purpose for every customer they see; a share cannot state it for them, so nothing was shared. Send it privately, or ask them to look it up with their purpose.',
  },
  'lookup.share.denied': {
    'zh-CN': '本频道中有成员无权查看该客户，因此未分享任何内容。',
    en: 'Someone in this channel may not see this customer, so nothing was shared.',
  },
  'lookup.share.dmOnly': { 'zh-CN': '私信中无需分享。', en: 'There is nothing to share in a direct message.' },
  'field.customerId': { 'zh-CN': '客户编号', en: 'Customer id' },
  'field.name': { 'zh-CN': '姓名', en: 'Name' },
  'field.type': { 'zh-CN': '类型', en: 'Type' },
  'field.company': { 'zh-CN': '公司', en: 'Company' },
  'field.industry': { 'zh-CN': '行业', en: 'Industry' },
  'field.region': { 'zh-CN': '区域', en: 'Region' },
  'field.tier': { 'zh-CN': '等级', en: 'Tier' },
  'field.ownerId': { 'zh-CN': '负责人', en: 'Owner' },
  'field.status': { 'zh-CN': '状态', en: 'Status' },
  'field.phone': { 'zh-CN': '电话', en: 'Phone' },
  'field.email': { 'zh-CN': '邮箱', en: 'E-mail' },
  'field.address': { 'zh-CN': '地址', en: 'Address' },
  'field.wechat': { 'zh-CN': '微信', en: 'WeChat' },
  'field.idNumber': { 'zh-CN': '身份证号', en: 'ID number' },
  'field.birthDate': { 'zh-CN': '出生日期', en: 'Birth date' },
  'field.leadSource': { 'zh-CN': '线索来源', en: 'Lead source' },
  'field.campaigns': { 'zh-CN': '营销活动', en: 'Campaigns' },
  'field.interests': { 'zh-CN': '兴趣', en: 'Interests' },
  'field.stage': { 'zh-CN': '销售阶段', en: 'Stage' },
  'field.pipelineValue': { 'zh-CN': '商机金额', en: 'Pipeline value' },
  'field.lastContactAt': { 'zh-CN': '最近联系', en: 'Last contact' },
  'field.followUps': { 'zh-CN': '跟进记录', en: 'Follow-ups' },
  'field.contractAmount': { 'zh-CN': '合同金额', en: 'Contract amount' },
  'field.outstanding': { 'zh-CN': '未结金额', en: 'Outstanding' },
  'field.paymentStatus': { 'zh-CN': '付款状态', en: 'Payment status' },
  'field.creditRating': { 'zh-CN': '信用评级', en: 'Credit rating' },
  'field.bankAccount': { 'zh-CN': '银行账号', en: 'Bank account' },
  'field.openTickets': { 'zh-CN': '未结工单', en: 'Open tickets' },
  'field.lastTicketAt': { 'zh-CN': '最近工单', en: 'Last ticket' },
  'field.satisfaction': { 'zh-CN': '满意度', en: 'Satisfaction' },
  'field.afterSalesNotes': { 'zh-CN': '售后备注', en: 'After-sales notes' },
  'field.contracts': { 'zh-CN': '合同', en: 'Contracts' },
  'field.disputes': { 'zh-CN': '争议', en: 'Disputes' },
  'group.profile': { 'zh-CN': '基本信息', en: 'Profile' },
  'group.contact': { 'zh-CN': '联系方式', en: 'Contact' },
  'group.identity': { 'zh-CN': '身份信息', en: 'Identity' },
  'group.marketing': { 'zh-CN': '市场', en: 'Marketing' },
  'group.sales': { 'zh-CN': '销售', en: 'Sales' },
  'group.finance': { 'zh-CN': '财务', en: 'Finance' },
  'group.support': { 'zh-CN': '售后支持', en: 'Support' },
  'group.legal': { 'zh-CN': '法务', en: 'Legal' },
};

// Registration is idempotent across re-imports (tsx may load a module under two URLs in tests).
if (!hasMessage('lookup.usage')) registerMessages(entries);

export const LOOKUP_MESSAGE_KEYS = Object.keys(entries);
