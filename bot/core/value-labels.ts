// Labels for the closed value sets a user reads (customer type, region, tier, status, sales stage,
// payment status) and for the kinds of personal data the PII guard names: a zh-CN card says 个人 / 华东 /
// 已流失, not person / east / churned. Codes stay codes everywhere else (audit events, exports, filters).
import { CUSTOMER_STATUSES, CUSTOMER_TIERS, CUSTOMER_TYPES, PAYMENT_STATUSES, REGIONS, SALES_STAGES } from './domain.ts';
import { hasMessage, registerMessages, t, type Catalogue, type Locale } from './messages.ts';

type Labels = Record<string, [zh: string, en: string]>;

/** Fields whose values come from a closed set, and their labels. */
const ENUM_LABELS: Record<string, Labels> = {
  type: { person: ['个人', 'person'], company: ['企业', 'company'] },
  region: { north: ['华北', 'north'], east: ['华东', 'east'], south: ['华南', 'south'], west: ['西部', 'west'], central: ['华中', 'central'], overseas: ['海外', 'overseas'] },
  tier: { standard: ['标准', 'standard'], silver: ['白银', 'silver'], gold: ['黄金', 'gold'], platinum: ['铂金', 'platinum'] },
  status: { lead: ['潜在客户', 'lead'], active: ['活跃', 'active'], churned: ['已流失', 'churned'], blocked: ['已冻结', 'blocked'] },
  stage: { prospect: ['初步接触', 'prospect'], qualified: ['已确认需求', 'qualified'], proposal: ['方案报价', 'proposal'], negotiation: ['商务谈判', 'negotiation'], won: ['赢单', 'won'], lost: ['丢单', 'lost'] },
  paymentStatus: { current: ['正常', 'current'], overdue: ['逾期', 'overdue'], in_collection: ['催收中', 'in collection'], settled: ['已结清', 'settled'] },
};

/** The PII guard's kinds (bot/core/audit-event.ts), as named in refusals. */
const PII_KINDS: Labels = {
  'e-mail address': ['邮箱地址', 'e-mail address'],
  'mobile number': ['手机号', 'mobile number'],
  'landline number': ['座机号码', 'landline number'],
  'ID number': ['身份证号', 'ID number'],
  'bank or card number': ['银行卡号', 'bank or card number'],
  'long number': ['长数字串', 'long number'],
  'street address': ['街道地址', 'street address'],
  'too long': ['过长', 'too long'],
};

// Every value of the domain's sets has a label (a new value without one fails at start, not in a card).
const SETS: Record<string, readonly string[]> = { type: CUSTOMER_TYPES, region: REGIONS, tier: CUSTOMER_TIERS, status: CUSTOMER_STATUSES, stage: SALES_STAGES, paymentStatus: PAYMENT_STATUSES };
for (const [field, values] of Object.entries(SETS)) {
  for (const v of values) if (!ENUM_LABELS[field]?.[v]) throw new Error(`no label for ${field} value ${v}`);
}

const entries: Catalogue = {};
for (const [field, labels] of Object.entries(ENUM_LABELS)) {
  for (const [value, [zh, en]] of Object.entries(labels)) entries[`value.${field}.${value}`] = { 'zh-CN': zh, en };
}
for (const [kind, [zh, en]] of Object.entries(PII_KINDS)) entries[`pii.${kind}`] = { 'zh-CN': zh, en };
if (!hasMessage('value.type.person')) registerMessages(entries);

/** The label of a shown value of a closed-set field; any other value (or a masked one) unchanged. */
export function valueLabel(field: string, value: string, locale: Locale): string {
  return hasMessage(`value.${field}.${value}`) ? t(`value.${field}.${value}`, locale) : value;
}

/** The PII guard's kind in the reader's language. */
export function piiKindLabel(kind: string, locale: Locale): string {
  return hasMessage(`pii.${kind}`) ? t(`pii.${kind}`, locale) : kind;
}
