// The 金蝶云星空 (Kingdee K/3 Cloud) connector's own settings, named after its source
// (`CUSTOS_SYNC_<SOURCE>_…`, <SOURCE> upper-cased with '-' as '_'), parsed once with zod; every problem is
// thrown at once as ConfigInvalid, with what to set.
//
//   _SERVER_URL           the K/3 Cloud site, e.g. https://erp.example.com/k3cloud (https, except a loopback host)
//   _ACCT_ID              the data centre (账套) id, from 管理中心 › 数据中心列表
//   _USERNAME             the integration user the third-party app signs in as
//   _APP_ID               the third-party system registration's 应用ID (第三方系统登录授权)
//   _APP_SECRET(_FILE)    its 应用密钥
//   _LCID                 language id, 2052 (简体中文, default), 1033 (English) or 3076 (繁體中文)
//   _FORM_ID              the customer form (default BD_Customer)
//   _USE_ORG              optional: the use organisation's number (使用组织编码); a customer distributed to
//                         several organisations is one row each, so set it when customers are distributed
//   _PAGE_SIZE            rows per ExecuteBillQuery page, 100–10000 (default 2000)
//   _REQUESTS_PER_SECOND  requests per second custos paces itself to before CUSTOS_SYNC_QUOTA_SHARE (default 5)
import { z } from 'zod';
import { readSettingFile, secureOrLoopback, zodProblems } from '../../config-env.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';

export interface KingdeeSettings {
  serverUrl: string; acctId: string; username: string; appId: string; appSecret: string;
  lcid: number; formId: string; useOrg: string | null; pageSize: number; perSecond: number;
}

export const kingdeePrefix = (source: string) => `CUSTOS_SYNC_${source.toUpperCase().replace(/-/g, '_')}_`;

function schemaFor(p: string) {
  const required = (name: string, what: string) => z.string({ error: `${p}${name} is required: ${what} (README "金蝶云星空")` }).min(1);
  return z.object({
    [`${p}SERVER_URL`]: z.url({ error: `${p}SERVER_URL is required: the K/3 Cloud site such as https://erp.example.com/k3cloud` })
      .refine(secureOrLoopback,
        `${p}SERVER_URL must use https (the app secret and the session travel over it); plain http is allowed for a loopback host only`),
    [`${p}ACCT_ID`]: required('ACCT_ID', 'the data centre (账套) id'),
    [`${p}USERNAME`]: required('USERNAME', 'the integration user'),
    [`${p}APP_ID`]: required('APP_ID', "the third-party system registration's 应用ID"),
    [`${p}LCID`]: z.coerce.number().refine((n) => [2052, 1033, 3076].includes(n), `${p}LCID must be 2052 (简体中文), 1033 (English) or 3076 (繁體中文)`).default(2052),
    [`${p}FORM_ID`]: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, `${p}FORM_ID must be a form id such as BD_Customer`).default('BD_Customer'),
    [`${p}USE_ORG`]: z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, `${p}USE_ORG must be an organisation number such as 100 (letters, digits, '.', '_' or '-')`).optional(),
    [`${p}PAGE_SIZE`]: z.coerce.number({ error: `${p}PAGE_SIZE must be a number between 100 and 10000` }).int(`${p}PAGE_SIZE must be a whole number`)
      .min(100, `${p}PAGE_SIZE must be at least 100`).max(10_000, `${p}PAGE_SIZE must be at most 10000 (larger pages time out on busy sites)`).default(2000),
    [`${p}REQUESTS_PER_SECOND`]: z.coerce.number({ error: `${p}REQUESTS_PER_SECOND must be a number` }).positive(`${p}REQUESTS_PER_SECOND must be above 0`).default(5),
  });
}

/** The settings of 金蝶云星空 source `source`; throws one ConfigInvalid listing every problem. */
export function loadKingdeeSettings(source: string, env: NodeJS.ProcessEnv): KingdeeSettings {
  const p = kingdeePrefix(source);
  const problems: string[] = [];
  const plain = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith(p) && v !== ''));
  const parsed = schemaFor(p).safeParse(plain);
  if (!parsed.success) zodProblems(parsed.error, problems);
  const secret = env[`${p}APP_SECRET_FILE`] ? readSettingFile(env, `${p}APP_SECRET`, problems) : env[`${p}APP_SECRET`] || undefined;
  if (secret === undefined && !problems.some((x) => x.includes(`${p}APP_SECRET`))) problems.push(`${p}APP_SECRET (or ${p}APP_SECRET_FILE) is required: the 应用密钥 of the third-party system registration`);
  if (problems.length > 0 || !parsed.success || secret === undefined) {
    throw new CustosError(ErrorCode.ConfigInvalid,
      `invalid 金蝶云星空 settings for sync source ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((x) => `  - ${x}`).join('\n')}`, { problems });
  }
  const r = parsed.data as Record<string, string | number>;
  return {
    serverUrl: String(r[`${p}SERVER_URL`]).replace(/\/+$/, ''), acctId: String(r[`${p}ACCT_ID`]), username: String(r[`${p}USERNAME`]),
    appId: String(r[`${p}APP_ID`]), appSecret: secret, lcid: Number(r[`${p}LCID`]), formId: String(r[`${p}FORM_ID`]), useOrg: r[`${p}USE_ORG`] === undefined ? null : String(r[`${p}USE_ORG`]),
    pageSize: Number(r[`${p}PAGE_SIZE`]), perSecond: Number(r[`${p}REQUESTS_PER_SECOND`]),
  };
}
