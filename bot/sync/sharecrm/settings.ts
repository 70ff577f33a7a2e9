// The 纷享销客 (ShareCRM / fxiaoke) connector's own settings, named after its source
// (`CUSTOS_SYNC_<SOURCE>_…`, <SOURCE> upper-cased with '-' as '_'), parsed once with zod; every problem is
// thrown at once as ConfigInvalid, with what to set.
//
//   _API_URL                 the OpenAPI host of the tenant's cloud (default https://open.fxiaoke.com;
//                            others are open-hwcloud.fxiaoke.com, open-ale.fxiaoke.com, …); https, except a loopback host
//   _APP_ID                  the self-built app's appId (FSAID_…)
//   _APP_SECRET(_FILE)       its appSecret
//   _PERMANENT_CODE(_FILE)   the enterprise's permanent authorisation code for the app (permanentCode)
//   _OPEN_USER_ID            the integration employee's openUserId (FSUID_…), sent as currentOpenUserId: custos
//                            sees the customers that employee's data rights show
//   _PAGE_SIZE               records per data query, 10–100 (default 100)
//   _REQUESTS_PER_SECOND     requests per second custos paces itself to, before CUSTOS_SYNC_QUOTA_SHARE (default 4:
//                            纷享销客 allows 100 calls per 20 seconds per interface)
import { z } from 'zod';
import { readSettingFile, secureOrLoopback, zodProblems } from '../../config-env.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';

export interface ShareCrmSettings {
  apiUrl: string; appId: string; appSecret: string; permanentCode: string; openUserId: string; pageSize: number; perSecond: number;
}

export const shareCrmPrefix = (source: string) => `CUSTOS_SYNC_${source.toUpperCase().replace(/-/g, '_')}_`;

function schemaFor(p: string) {
  const required = (name: string, what: string) => z.string({ error: `${p}${name} is required: ${what} (README "纷享销客")` }).min(1);
  return z.object({
    [`${p}API_URL`]: z.url({ error: `${p}API_URL must be the OpenAPI host such as https://open.fxiaoke.com` })
      .refine(secureOrLoopback,
        `${p}API_URL must use https (the app secret and the token travel over it); plain http is allowed for a loopback host only`)
      .default('https://open.fxiaoke.com'),
    [`${p}APP_ID`]: required('APP_ID', "the self-built app's appId (FSAID_…)"),
    [`${p}OPEN_USER_ID`]: z.string({ error: `${p}OPEN_USER_ID is required: the integration employee's openUserId (FSUID_…) (README "纷享销客")` })
      .regex(/^[A-Za-z0-9_]{1,64}$/, `${p}OPEN_USER_ID must be an openUserId such as FSUID_0A1B2C…`),
    [`${p}PAGE_SIZE`]: z.coerce.number({ error: `${p}PAGE_SIZE must be a number between 10 and 100` }).int(`${p}PAGE_SIZE must be a whole number`)
      .min(10, `${p}PAGE_SIZE must be at least 10`).max(100, `${p}PAGE_SIZE must be at most 100`).default(100),
    [`${p}REQUESTS_PER_SECOND`]: z.coerce.number({ error: `${p}REQUESTS_PER_SECOND must be a number` }).positive(`${p}REQUESTS_PER_SECOND must be above 0`).default(4),
  });
}

/** A secret from NAME or NAME_FILE; a problem when neither is set. */
function secret(env: NodeJS.ProcessEnv, name: string, what: string, problems: string[]): string | undefined {
  const value = env[`${name}_FILE`] ? readSettingFile(env, name, problems) : env[name] || undefined;
  if (value === undefined && !problems.some((x) => x.includes(name))) problems.push(`${name} (or ${name}_FILE) is required: ${what}`);
  return value;
}

/** The settings of 纷享销客 source `source`; throws one ConfigInvalid listing every problem. */
export function loadShareCrmSettings(source: string, env: NodeJS.ProcessEnv): ShareCrmSettings {
  const p = shareCrmPrefix(source);
  const problems: string[] = [];
  const plain = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith(p) && v !== ''));
  const parsed = schemaFor(p).safeParse(plain);
  if (!parsed.success) zodProblems(parsed.error, problems);
  const appSecret = secret(env, `${p}APP_SECRET`, "the self-built app's appSecret", problems);
  const permanentCode = secret(env, `${p}PERMANENT_CODE`, "the enterprise's permanent authorisation code (permanentCode)", problems);
  if (problems.length > 0 || !parsed.success || appSecret === undefined || permanentCode === undefined) {
    throw new CustosError(ErrorCode.ConfigInvalid,
      `invalid 纷享销客 settings for sync source ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((x) => `  - ${x}`).join('\n')}`, { problems });
  }
  const r = parsed.data as Record<string, string | number>;
  return {
    apiUrl: String(r[`${p}API_URL`]).replace(/\/+$/, ''), appId: String(r[`${p}APP_ID`]), appSecret, permanentCode,
    openUserId: String(r[`${p}OPEN_USER_ID`]), pageSize: Number(r[`${p}PAGE_SIZE`]), perSecond: Number(r[`${p}REQUESTS_PER_SECOND`]),
  };
}
