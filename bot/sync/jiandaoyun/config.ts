// The 简道云 connector's own settings, named after its source (CUSTOS_SYNC_<SOURCE>_…, <SOURCE> upper-cased
// with '-' as '_'), parsed once with zod; every problem is reported at once with how to fix it. Secrets
// may also come from NAME_FILE.
//
//   CUSTOS_SYNC_<SOURCE>_API_URL         简道云's API base (default https://api.jiandaoyun.com; private deployments differ)
//   CUSTOS_SYNC_<SOURCE>_API_KEY         an API key from 开放平台 › 密钥管理 (sent as "Authorization: Bearer …")
//   CUSTOS_SYNC_<SOURCE>_APP_ID          the 应用 ID holding the customer form (24 hex digits)
//   CUSTOS_SYNC_<SOURCE>_ENTRY_ID        the 表单 ID of the customer form (24 hex digits)
//   CUSTOS_SYNC_<SOURCE>_WEBHOOK_SECRET  the secret set in the form's 数据推送 settings; unset = no webhook route
import { z } from 'zod';
import { httpUrl, readSettingFile, zodProblems } from '../../config-env.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';

export interface JdyConfig { apiUrl: string; apiKey: string; appId: string; entryId: string; webhookSecret: string | null }

export const jdySetting = (source: string, name: string) => `CUSTOS_SYNC_${source.toUpperCase().replace(/-/g, '_')}_${name}`;

const hexId = (setting: string, what: string) => z.string({ error: `${setting} is required: the ${what} (24 hex digits, shown in 简道云's 开放平台 API 文档)` })
  .regex(/^[0-9a-f]{24}$/, `${setting} must be the ${what}: 24 hex digits such as 59264073a2a60c0c08e20bfb`);

function schemaFor(source: string) {
  const s = (n: string) => jdySetting(source, n);
  return z.object({
    API_URL: httpUrl(s('API_URL'), 'https://api.jiandaoyun.com').default('https://api.jiandaoyun.com'),
    API_KEY: z.string({ error: `${s('API_KEY')} is required: create an API key in 简道云 开放平台 › 密钥管理 (or set ${s('API_KEY')}_FILE)` })
      .min(16, `${s('API_KEY')} looks truncated: 简道云 API keys are 32 characters`),
    APP_ID: hexId(s('APP_ID'), '应用 ID (app_id)'),
    ENTRY_ID: hexId(s('ENTRY_ID'), '表单 ID (entry_id)'),
    WEBHOOK_SECRET: z.string().min(16, `${s('WEBHOOK_SECRET')} must be at least 16 characters; use the secret shown in the form's 数据推送 settings`).optional(),
  });
}

/** Reads this source's 简道云 settings; throws one ConfigInvalid listing every problem. */
export function loadJdyConfig(source: string, env: NodeJS.ProcessEnv): JdyConfig {
  const problems: string[] = [];
  const raw: Record<string, string | undefined> = {};
  for (const name of ['API_URL', 'API_KEY', 'APP_ID', 'ENTRY_ID', 'WEBHOOK_SECRET']) {
    const setting = jdySetting(source, name);
    const fromFile = name === 'API_KEY' || name === 'WEBHOOK_SECRET' ? readSettingFile(env, setting, problems) : undefined;
    const v = fromFile ?? env[setting];
    if (v !== undefined && v !== '') raw[name] = v;
  }
  const parsed = schemaFor(source).safeParse(raw);
  if (!parsed.success) zodProblems(parsed.error, problems);
  if (problems.length > 0 || !parsed.success) {
    // zod names the field by its short key; say the full setting so the operator knows what to set.
    const named = problems.map((p) => p.replace(/^(API_URL|API_KEY|APP_ID|ENTRY_ID|WEBHOOK_SECRET): /, (_m, k: string) => `${jdySetting(source, k)}: `));
    throw new CustosError(ErrorCode.ConfigInvalid, `invalid 简道云 settings for sync source ${source} (${named.length} problem${named.length === 1 ? '' : 's'}):\n${named.map((p) => `  - ${p}`).join('\n')}`, { source, problems: named });
  }
  const d = parsed.data;
  return { apiUrl: d.API_URL.replace(/\/+$/, ''), apiKey: d.API_KEY, appId: d.APP_ID, entryId: d.ENTRY_ID, webhookSecret: d.WEBHOOK_SECRET ?? null };
}
