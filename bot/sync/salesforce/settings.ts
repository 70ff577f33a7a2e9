// The Salesforce connector's own settings, named after its source (`CUSTOS_SYNC_<SOURCE>_…`, <SOURCE>
// upper-cased with '-' as '_'), parsed once with zod; every problem is thrown at once as ConfigInvalid.
//
//   _LOGIN_URL            where the OAuth token endpoint lives (default https://login.salesforce.com; your My Domain
//                         URL for the client-credentials flow); https, except a loopback host (local tests)
//   _CLIENT_ID            the connected app's consumer key
//   _CLIENT_SECRET(_FILE) its consumer secret: the OAuth 2.0 client-credentials flow
//   _PRIVATE_KEY_FILE     instead of a secret: the PEM private key whose certificate the connected app holds,
//   _USERNAME             with the integration user's username: the OAuth 2.0 JWT bearer flow
//   _API_VERSION          REST API version (default 62.0)
//   _BATCH_SIZE           records per query page, 200–2000 (default 2000; Sforce-Query-Options batchSize)
//   _REQUESTS_PER_SECOND  requests per second custos paces itself to before CUSTOS_SYNC_QUOTA_SHARE (default 20)
//   _BULK_THRESHOLD       a full backfill of more records than this (SELECT COUNT()) goes through a Bulk API 2.0
//                         query job instead of paged SOQL (default 10000, Salesforce's own guidance; 0 = never)
import { z } from 'zod';
import { readSettingFile, secureOrLoopback, zodProblems } from '../../config-env.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';

export type SalesforceAuth =
  | { flow: 'client-credentials'; clientId: string; clientSecret: string }
  | { flow: 'jwt'; clientId: string; privateKey: string; username: string };

export interface SalesforceSettings {
  loginUrl: string;
  apiVersion: string;
  batchSize: number;
  perSecond: number;
  /** Backfills of more records than this use Bulk API 2.0; 0 never. */
  bulkThreshold: number;
  auth: SalesforceAuth;
}

export const settingPrefix = (source: string) => `CUSTOS_SYNC_${source.toUpperCase().replace(/-/g, '_')}_`;

function schemaFor(p: string) {
  return z.object({
    [`${p}LOGIN_URL`]: z.url({ error: `${p}LOGIN_URL must be a URL such as https://login.salesforce.com or https://yourdomain.my.salesforce.com` })
      .default('https://login.salesforce.com')
      .refine(secureOrLoopback,
        `${p}LOGIN_URL must use https (the client secret and tokens travel over it); plain http is allowed for a loopback host only`),
    [`${p}CLIENT_ID`]: z.string({ error: `${p}CLIENT_ID is required: the connected app's consumer key (README "Salesforce")` }).min(1),
    [`${p}API_VERSION`]: z.string().refine((v) => /^\d{2}\.0$/.test(v) && Number(v) >= 31, `${p}API_VERSION must look like 62.0 and be 31.0 or later (getDeleted and query paging need it)`).default('62.0'),
    [`${p}BATCH_SIZE`]: z.coerce.number({ error: `${p}BATCH_SIZE must be a number between 200 and 2000` }).int(`${p}BATCH_SIZE must be a whole number`)
      .min(200, `${p}BATCH_SIZE must be at least 200 (Salesforce's smallest query batch)`).max(2000, `${p}BATCH_SIZE must be at most 2000 (Salesforce's largest query batch)`).default(2000),
    [`${p}REQUESTS_PER_SECOND`]: z.coerce.number({ error: `${p}REQUESTS_PER_SECOND must be a number` }).positive(`${p}REQUESTS_PER_SECOND must be above 0`).default(20),
    [`${p}BULK_THRESHOLD`]: z.coerce.number({ error: `${p}BULK_THRESHOLD must be a number of records (0 turns Bulk API 2.0 off)` }).int(`${p}BULK_THRESHOLD must be a whole number`)
      .min(0, `${p}BULK_THRESHOLD must be 0 (never) or more`).default(10_000),
  });
}

function fromEnvOrFile(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  if (env[`${name}_FILE`]) return readSettingFile(env, name, problems);
  return env[name] || undefined;
}

/** The settings of Salesforce source `source`; throws one ConfigInvalid listing every problem. */
export function loadSalesforceSettings(source: string, env: NodeJS.ProcessEnv): SalesforceSettings {
  const p = settingPrefix(source);
  const problems: string[] = [];
  const plain = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith(p) && v !== ''));
  const parsed = schemaFor(p).safeParse(plain);
  if (!parsed.success) zodProblems(parsed.error, problems);
  const secret = fromEnvOrFile(env, `${p}CLIENT_SECRET`, problems);
  const keyFile = env[`${p}PRIVATE_KEY_FILE`] || undefined;
  const username = env[`${p}USERNAME`] || undefined;
  let privateKey: string | undefined;
  if (keyFile) {
    const read: string[] = [];
    privateKey = readSettingFile({ [`${p}PRIVATE_KEY_FILE`]: keyFile }, `${p}PRIVATE_KEY`, read);
    problems.push(...read);
    if (privateKey !== undefined && !privateKey.includes('PRIVATE KEY-----')) problems.push(`${p}PRIVATE_KEY_FILE must hold a PEM private key (-----BEGIN PRIVATE KEY-----)`);
    if (!username) problems.push(`${p}USERNAME is required with ${p}PRIVATE_KEY_FILE: the integration user the JWT bearer flow signs in as`);
  }
  if (secret !== undefined && keyFile) problems.push(`${p}CLIENT_SECRET and ${p}PRIVATE_KEY_FILE are both set; choose one flow (client credentials or JWT bearer)`);
  if (secret === undefined && !keyFile && !problems.some((x) => x.includes(`${p}CLIENT_SECRET`))) {
    problems.push(`${p}CLIENT_SECRET (or ${p}CLIENT_SECRET_FILE) is required for the client-credentials flow, or ${p}PRIVATE_KEY_FILE and ${p}USERNAME for the JWT bearer flow`);
  }
  if (problems.length > 0 || !parsed.success) {
    throw new CustosError(ErrorCode.ConfigInvalid,
      `invalid Salesforce settings for sync source ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((x) => `  - ${x}`).join('\n')}`, { problems });
  }
  const r = parsed.data as Record<string, string | number>;
  const clientId = String(r[`${p}CLIENT_ID`]);
  return {
    loginUrl: String(r[`${p}LOGIN_URL`]).replace(/\/+$/, ''), apiVersion: String(r[`${p}API_VERSION`]),
    batchSize: Number(r[`${p}BATCH_SIZE`]), perSecond: Number(r[`${p}REQUESTS_PER_SECOND`]), bulkThreshold: Number(r[`${p}BULK_THRESHOLD`]),
    auth: privateKey !== undefined ? { flow: 'jwt', clientId, privateKey, username: username! } : { flow: 'client-credentials', clientId, clientSecret: secret! },
  };
}
