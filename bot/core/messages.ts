// The one message catalogue: every sentence a user sees, in zh-CN and en, keyed by error code or
// message key. Both chat adapters and the CLI use it; nothing else builds user-facing text for errors.
import { ErrorCode, isCustosError } from './errors.ts';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

type Params = Record<string, string | number>;
export type Catalogue = Record<string, { 'zh-CN': string; en: string }>;

const catalogue: Catalogue = {
  [ErrorCode.ConfigInvalid]: { 'zh-CN': '配置无效：{problems}', en: 'The configuration is invalid: {problems}' },
  [ErrorCode.ImportInvalid]: { 'zh-CN': '导入文件有错误，未写入任何数据。', en: 'The import file has errors; nothing was written.' },
  [ErrorCode.ImportFileUnreadable]: { 'zh-CN': '无法读取导入文件。', en: 'The import file cannot be read.' },
  [ErrorCode.PolicyInvalid]: { 'zh-CN': '策略文件无效，请联系管理员。', en: 'The policy files are invalid; please contact an administrator.' },
  [ErrorCode.PolicyDenied]: { 'zh-CN': '您的角色无权执行此操作。', en: 'Your role is not allowed to do this.' },
  [ErrorCode.GrantInvalid]: { 'zh-CN': '授权内容无效，未保存。', en: 'The grant is invalid and was not saved.' },
  [ErrorCode.AuditUnavailable]: {
    'zh-CN': '审计日志暂时不可用，为保护客户数据，本次请求已拒绝。请稍后重试。',
    en: 'The audit log is unavailable, so this request was refused to protect customer data. Please try again shortly.',
  },
  [ErrorCode.AuditEventInvalid]: { 'zh-CN': '内部错误：审计事件无效。', en: 'Internal error: the audit event was invalid.' },
  [ErrorCode.CryptoKeyUnknown]: { 'zh-CN': '内部错误：加密密钥缺失。', en: 'Internal error: an encryption key is missing.' },
  [ErrorCode.CryptoTampered]: { 'zh-CN': '内部错误：数据校验失败。', en: 'Internal error: stored data failed its integrity check.' },
  [ErrorCode.EmployeeUnknown]: {
    'zh-CN': '未找到与您的账号对应的员工记录。请联系管理员（{contact}）开通。',
    en: 'Your chat account is not linked to an employee record. Ask an administrator ({contact}) to add you.',
  },
  [ErrorCode.EmployeeFrozen]: {
    'zh-CN': '您的账号已被冻结，暂时无法查询客户。请联系安全团队（{contact}）。',
    en: 'Your account is frozen, so customer lookups are blocked. Contact the security team ({contact}).',
  },
  [ErrorCode.EmployeeOffboarded]: {
    'zh-CN': '您的账号已离职停用，无法查询客户。如有疑问请联系 {contact}。',
    en: 'Your account has been offboarded and can no longer look up customers. If this is a mistake, contact {contact}.',
  },
  [ErrorCode.QueryInvalid]: { 'zh-CN': '无法理解该查询。{usage}', en: 'That query could not be understood. {usage}' },
  [ErrorCode.NotFound]: { 'zh-CN': '没有您可查看的匹配客户。', en: 'No customer you may see matches.' },
  [ErrorCode.SyncMappingInvalid]: { 'zh-CN': '同步映射文件无效，该数据源已停止同步。', en: 'The sync mapping file is invalid; that source stopped syncing.' },
  [ErrorCode.SyncSourceUnknown]: { 'zh-CN': '未配置该同步数据源。', en: 'That sync source is not configured.' },
  [ErrorCode.SyncSourceFailed]: { 'zh-CN': '同步数据源暂时不可用，稍后重试。', en: 'The sync source is unavailable for now; it will be retried.' },
  [ErrorCode.Internal]: { 'zh-CN': '内部错误，请稍后重试。', en: 'Something went wrong; please try again.' },
};

/** Adds entries (adapters and features register their own keys); refuses to overwrite an existing key. */
export function registerMessages(entries: Catalogue): void {
  for (const [key, text] of Object.entries(entries)) {
    if (key in catalogue) throw new Error(`message key registered twice: ${key}`);
    catalogue[key] = text;
  }
}

export function hasMessage(key: string): boolean {
  return key in catalogue;
}

/** The sentence for `key` in `locale`, with `{name}` placeholders filled from `params`. */
export function t(key: string, locale: Locale, params: Params = {}): string {
  const entry = catalogue[key] ?? catalogue[ErrorCode.Internal]!;
  return entry[locale].replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** What a user sees for any error: the mapped sentence for a CustosError, the generic one otherwise. */
export function userMessage(err: unknown, locale: Locale, params: Params = {}): string {
  if (isCustosError(err)) return t(err.code, locale, params);
  return t(ErrorCode.Internal, locale);
}

export function parseLocale(value: string | undefined | null, fallback: Locale = 'zh-CN'): Locale {
  if (!value) return fallback;
  const v = value.toLowerCase();
  if (v.startsWith('zh')) return 'zh-CN';
  if (v.startsWith('en')) return 'en';
  return fallback;
}
