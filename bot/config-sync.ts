// The sync section of the configuration (issue 15), owned by bot/sync: parsed once with zod, every
// problem reported at once with how to fix it, secrets also from `NAME_FILE`.
//
//   CUSTOS_SYNC_SOURCES              comma-separated source names (salesforce, jiandaoyun, erp, ...); none = sync off
//   CUSTOS_SYNC_MAPPINGS             directory holding one mapping file <source>.yaml per source (default ./sync)
//   CUSTOS_SYNC_INTERVAL             seconds between incremental runs of each pulled source (default 300)
//   CUSTOS_SYNC_RECONCILE_INTERVAL   seconds between reconciliations (default 3600)
//   CUSTOS_SYNC_LAG_ALERT            seconds since a pulled source's last good run after which the security channel
//                                    is told, once per crossing (default 3 × CUSTOS_SYNC_INTERVAL)
//   CUSTOS_SYNC_QUOTA_SHARE          largest share (0–1] of a source's request rate and API quota custos may use (default 0.5)
//   CUSTOS_SYNC_PUSH_STALE_AFTER     seconds after which a push batch claimed and never finished (its bot died
//                                    mid-apply) is taken over by the sender's next retry (default 600)
//   CUSTOS_SYNC_PUSH_SECRET_<SOURCE> per push source: the HMAC secret its system signs requests with
//                                    (at least 32 characters; <SOURCE> upper-cased, '-' as '_')
import path from 'node:path';
import { z } from 'zod';
import { readSettingFile, zodProblems } from './config-env.ts';
import { CustosError, ErrorCode } from './core/errors.ts';

export interface SyncConfig {
  sources: string[];
  mappingsDir: string;
  intervalSeconds: number;
  reconcileSeconds: number;
  /** Lag (seconds since a pulled source's last good run) past which the security channel is told. */
  lagAlertSeconds: number;
  /** Share of each source's rate and quota custos may use (bot/sync/rate-budget.ts). */
  quotaShare: number;
  /** A push batch claimed this long ago without a result was cut short (its bot died): a retry takes it over. */
  pushStaleSeconds: number;
  /** Source → push secret, for the sources that push (POST /sync/v1/SOURCE/records). */
  pushSecrets: Map<string, string>;
}

export const SOURCE_NAME = /^[a-z][a-z0-9-]{0,39}$/;
export const pushSecretSetting = (source: string) => `CUSTOS_SYNC_PUSH_SECRET_${source.toUpperCase().replace(/-/g, '_')}`;

const seconds = (name: string, def: number, min: number) => z.coerce.number({ error: `${name} must be a number of seconds` })
  .int(`${name} must be a whole number of seconds`).min(min, `${name} must be at least ${min} seconds`).default(def);

const schema = z.object({
  CUSTOS_SYNC_SOURCES: z.string().default('').transform((v, ctx) => {
    const names = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const n of names) {
      if (!SOURCE_NAME.test(n)) ctx.addIssue({ code: 'custom', message: `CUSTOS_SYNC_SOURCES: "${n}" is not a source name; use lower-case letters, digits and '-', e.g. salesforce,jiandaoyun` });
    }
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: 'CUSTOS_SYNC_SOURCES names a source twice; list each once' });
    return names;
  }),
  CUSTOS_SYNC_MAPPINGS: z.string().default('sync'),
  CUSTOS_SYNC_INTERVAL: seconds('CUSTOS_SYNC_INTERVAL', 300, 10),
  CUSTOS_SYNC_RECONCILE_INTERVAL: seconds('CUSTOS_SYNC_RECONCILE_INTERVAL', 3600, 60),
  // No default here: it follows CUSTOS_SYNC_INTERVAL (three missed runs), set below.
  CUSTOS_SYNC_LAG_ALERT: z.coerce.number({ error: 'CUSTOS_SYNC_LAG_ALERT must be a number of seconds' })
    .int('CUSTOS_SYNC_LAG_ALERT must be a whole number of seconds').min(10, 'CUSTOS_SYNC_LAG_ALERT must be at least 10 seconds').optional(),
  CUSTOS_SYNC_PUSH_STALE_AFTER: seconds('CUSTOS_SYNC_PUSH_STALE_AFTER', 600, 5),
  CUSTOS_SYNC_QUOTA_SHARE: z.coerce.number({ error: 'CUSTOS_SYNC_QUOTA_SHARE must be a number between 0 and 1, e.g. 0.5' })
    .gt(0, 'CUSTOS_SYNC_QUOTA_SHARE must be above 0 (custos needs some of the quota)').max(1, 'CUSTOS_SYNC_QUOTA_SHARE must be at most 1 (the whole quota)').default(0.5),
});

function valueOf(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  if (env[`${name}_FILE`]) return readSettingFile(env, name, problems);
  return env[name] || undefined;
}

/** Parses the sync settings; throws one CustosError(ConfigInvalid) listing every problem. */
export function loadSyncConfig(env: NodeJS.ProcessEnv = process.env): SyncConfig {
  const problems: string[] = [];
  const plain = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(plain);
  if (!parsed.success) zodProblems(parsed.error, problems);
  const pushSecrets = new Map<string, string>();
  for (const source of parsed.success ? parsed.data.CUSTOS_SYNC_SOURCES : []) {
    const name = pushSecretSetting(source);
    const secret = valueOf(env, name, problems);
    if (secret === undefined) continue;
    if (secret.length < 32) problems.push(`${name} must be at least 32 characters (generate one with: openssl rand -hex 32)`);
    else pushSecrets.set(source, secret);
  }
  for (const k of Object.keys(env)) {
    // Empty counts as unset, as a shell `VAR=` usually means (bot/config.ts does the same).
    const m = env[k] ? /^CUSTOS_SYNC_PUSH_SECRET_(.+?)(_FILE)?$/.exec(k) : null;
    if (m && parsed.success && !parsed.data.CUSTOS_SYNC_SOURCES.some((s) => pushSecretSetting(s) === `CUSTOS_SYNC_PUSH_SECRET_${m[1]}`)) {
      problems.push(`${k} is set but no source in CUSTOS_SYNC_SOURCES has that name; add the source or remove the setting`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new CustosError(ErrorCode.ConfigInvalid,
      `invalid sync configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
  }
  const r = parsed.data;
  return {
    sources: r.CUSTOS_SYNC_SOURCES, mappingsDir: path.resolve(r.CUSTOS_SYNC_MAPPINGS),
    intervalSeconds: r.CUSTOS_SYNC_INTERVAL, reconcileSeconds: r.CUSTOS_SYNC_RECONCILE_INTERVAL,
    lagAlertSeconds: r.CUSTOS_SYNC_LAG_ALERT ?? 3 * r.CUSTOS_SYNC_INTERVAL, quotaShare: r.CUSTOS_SYNC_QUOTA_SHARE,
    pushStaleSeconds: r.CUSTOS_SYNC_PUSH_STALE_AFTER, pushSecrets,
  };
}
