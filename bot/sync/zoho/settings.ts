// The Zoho CRM connector's own settings, named after its source (`CUSTOS_SYNC_<SOURCE>_…`, <SOURCE>
// upper-cased with '-' as '_'), parsed once with zod; every problem is thrown at once as ConfigInvalid.
//
//   _ACCOUNTS_URL          the data centre's accounts server (default https://accounts.zoho.com; .com.cn, .eu,
//                          .in, .com.au, .jp, .ca, .sa, .uk); the API domain comes from its token answer
//   _CLIENT_ID             the self client's (or server-based client's) client id
//   _CLIENT_SECRET(_FILE)  its client secret
//   _REFRESH_TOKEN(_FILE)  a refresh token with ZohoCRM.modules.accounts.READ, ZohoCRM.settings.fields.READ, ZohoCRM.coql.READ
//                          and (with notifications) ZohoCRM.notifications.ALL
//   _PER_PAGE              records per page, 1–200 (default 200)
//   _REQUESTS_PER_SECOND   requests per second custos paces itself to, before CUSTOS_SYNC_QUOTA_SHARE (default 10)
//   _NOTIFY_URL            custos's public webhook URL (https://<custos>/sync/v1/<source>/webhook): set it to
//                          subscribe to change notifications (actions/watch); unset = polling and reconciliation only
//   _CHANNEL_ID            with _NOTIFY_URL: the channel id (a number, at most 19 digits)
//   _CHANNEL_TOKEN(_FILE)  with _NOTIFY_URL: the token Zoho sends back in every notification (16–50 characters)
//   _CHANNEL_MINUTES       with _NOTIFY_URL: the channel's lifetime asked for, 10–10080 (default 60; Zoho's
//                          default is one hour and its most one week); renewed when a third of it is left
import { z } from 'zod';
import { readSettingFile, secureOrLoopback, zodProblems } from '../../config-env.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';

export interface ZohoChannelSettings { notifyUrl: string; channelId: string; token: string; minutes: number }

export interface ZohoSettings {
  accountsUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  perPage: number;
  perSecond: number;
  channel: ZohoChannelSettings | null;
}

/** Zoho's data centres (accounts servers); the API domain is whatever the token answer names. */
const ACCOUNTS_HOST = /^accounts\.zoho\.(com|com\.cn|eu|in|com\.au|jp|ca|sa|uk)$/;

export const zohoPrefix = (source: string) => `CUSTOS_SYNC_${source.toUpperCase().replace(/-/g, '_')}_`;

function schemaFor(p: string) {
  return z.object({
    [`${p}ACCOUNTS_URL`]: z.string().default('https://accounts.zoho.com')
      .refine((u) => secureOrLoopback(u, (h) => ACCOUNTS_HOST.test(h)), `${p}ACCOUNTS_URL must be your data centre's accounts server over https, such as https://accounts.zoho.com, https://accounts.zoho.com.cn or https://accounts.zoho.eu`),
    [`${p}CLIENT_ID`]: z.string({ error: `${p}CLIENT_ID is required: the client id from Zoho's API console (README "Zoho CRM")` }).min(1),
    [`${p}PER_PAGE`]: z.coerce.number({ error: `${p}PER_PAGE must be a number between 1 and 200` }).int(`${p}PER_PAGE must be a whole number`)
      .min(1, `${p}PER_PAGE must be at least 1`).max(200, `${p}PER_PAGE must be at most 200 (Zoho's largest page)`).default(200),
    [`${p}REQUESTS_PER_SECOND`]: z.coerce.number({ error: `${p}REQUESTS_PER_SECOND must be a number` }).positive(`${p}REQUESTS_PER_SECOND must be above 0`).default(10),
    [`${p}NOTIFY_URL`]: z.string().refine((u) => secureOrLoopback(u), `${p}NOTIFY_URL must be custos's public https URL, https://<custos>/sync/v1/<source>/webhook`).optional(),
    [`${p}CHANNEL_ID`]: z.string().regex(/^[1-9]\d{0,18}$/, `${p}CHANNEL_ID must be a number of at most 19 digits, such as 1000000068001`).optional(),
    [`${p}CHANNEL_MINUTES`]: z.coerce.number({ error: `${p}CHANNEL_MINUTES must be a number` }).int(`${p}CHANNEL_MINUTES must be a whole number`)
      .min(10, `${p}CHANNEL_MINUTES must be at least 10`).max(10080, `${p}CHANNEL_MINUTES must be at most 10080 (one week, Zoho's longest channel)`).default(60),
  });
}

function secret(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  if (env[`${name}_FILE`]) return readSettingFile(env, name, problems);
  return env[name] || undefined;
}

/** The settings of Zoho CRM source `source`; throws one ConfigInvalid listing every problem. */
export function loadZohoSettings(source: string, env: NodeJS.ProcessEnv): ZohoSettings {
  const p = zohoPrefix(source);
  const problems: string[] = [];
  const plain = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith(p) && v !== ''));
  const parsed = schemaFor(p).safeParse(plain);
  if (!parsed.success) zodProblems(parsed.error, problems);
  const clientSecret = secret(env, `${p}CLIENT_SECRET`, problems);
  const refreshToken = secret(env, `${p}REFRESH_TOKEN`, problems);
  const token = secret(env, `${p}CHANNEL_TOKEN`, problems);
  if (clientSecret === undefined) problems.push(`${p}CLIENT_SECRET (or ${p}CLIENT_SECRET_FILE) is required: the client secret from Zoho's API console`);
  if (refreshToken === undefined) problems.push(`${p}REFRESH_TOKEN (or ${p}REFRESH_TOKEN_FILE) is required: a refresh token for the integration user (README "Zoho CRM")`);
  const notifyUrl = env[`${p}NOTIFY_URL`] || undefined;
  if (notifyUrl) {
    if (!env[`${p}CHANNEL_ID`]) problems.push(`${p}CHANNEL_ID is required with ${p}NOTIFY_URL: the notification channel's id (a number)`);
    if (token === undefined) problems.push(`${p}CHANNEL_TOKEN (or ${p}CHANNEL_TOKEN_FILE) is required with ${p}NOTIFY_URL: the token Zoho sends back in every notification`);
    else if (token.length < 16 || token.length > 50) problems.push(`${p}CHANNEL_TOKEN must be 16 to 50 characters (Zoho keeps at most 50)`);
  }
  if (problems.length > 0 || !parsed.success) {
    throw new CustosError(ErrorCode.ConfigInvalid,
      `invalid Zoho CRM settings for sync source ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((x) => `  - ${x}`).join('\n')}`, { problems });
  }
  const r = parsed.data as Record<string, string | number | undefined>;
  return {
    accountsUrl: String(r[`${p}ACCOUNTS_URL`]).replace(/\/+$/, ''), clientId: String(r[`${p}CLIENT_ID`]),
    clientSecret: clientSecret!, refreshToken: refreshToken!, perPage: Number(r[`${p}PER_PAGE`]), perSecond: Number(r[`${p}REQUESTS_PER_SECOND`]),
    channel: notifyUrl ? { notifyUrl, channelId: String(r[`${p}CHANNEL_ID`]), token: token!, minutes: Number(r[`${p}CHANNEL_MINUTES`]) } : null,
  };
}
