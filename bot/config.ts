// Configuration: read once from the environment, validated completely with zod, and reported in one
// message that lists every problem with how to fix it. Secrets may come from files (`NAME_FILE`), the
// usual way to pass Docker / Kubernetes secrets. Commands say which sections they need (`require`), so
// `custos policy check` does not demand a database URL while `custos start` demands everything it uses.
import { z } from 'zod';
import { httpUrl, portNumber, readSettingFile, zodProblems } from './config-env.ts';
import { parseRedisSection, redisConfigured, REDIS_SECRET_SETTINGS, type RedisSettings } from './config-redis.ts';
import { CustosError, ErrorCode } from './core/errors.ts';
import { DEPARTMENTS, REGIONS, ROLES, type Department, type Region, type Role } from './core/domain.ts';
import { LOCALES, type Locale } from './core/messages.ts';

/** Settings that may be given as `NAME_FILE` (a path whose content is the value). */
const SECRET_SETTINGS = [
  'MONGODB_URI', ...REDIS_SECRET_SETTINGS, 'CUSTOS_DATA_KEYS', 'CUSTOS_BLIND_INDEX_KEY', 'CUSTOS_SEARCH_TOKEN_KEY', 'CUSTOS_AUDIT_HMAC_KEY',
  'CUSTOS_AUDIT_SIGNING_KEY', 'SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN',
  'LARK_APP_SECRET', 'LARK_ENCRYPT_KEY', 'LARK_VERIFICATION_TOKEN', 'CUSTOS_SCIM_TOKENS',
] as const;

const key32 = (name: string) =>
  z.string().refine((v) => Buffer.from(v, 'base64').length === 32 && /^[A-Za-z0-9+/=]+$/.test(v), {
    message: `${name} must be 32 random bytes in base64 (generate one with: openssl rand -base64 32)`,
  });

/** `id:base64key,id:base64key` — the first key encrypts, all of them decrypt (rotation). */
const dataKeys = z.string().transform((v, ctx) => {
  const keys: { id: string; key: Buffer }[] = [];
  for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/=]+)$/.exec(part);
    const key = m ? Buffer.from(m[2]!, 'base64') : undefined;
    if (!m || key?.length !== 32) {
      ctx.addIssue({ code: 'custom', message: 'CUSTOS_DATA_KEYS must be a comma-separated list of id:base64key, each key 32 bytes (e.g. k1:$(openssl rand -base64 32))' });
      return z.NEVER;
    }
    if (keys.some((k) => k.id === m[1])) {
      ctx.addIssue({ code: 'custom', message: `CUSTOS_DATA_KEYS names key id "${m[1]}" twice; key ids must be unique` });
      return z.NEVER;
    }
    keys.push({ id: m[1]!, key: key! });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'CUSTOS_DATA_KEYS is empty; give at least one id:base64key' });
    return z.NEVER;
  }
  return keys;
});

/** Allowed ranges of a 6-field cron pattern (second minute hour day-of-month month day-of-week). */
const CRON_RANGES: [number, number][] = [[0, 59], [0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];
const CRON_HELP = "CUSTOS_REVIEW_SCHEDULE must be a cron pattern of 5 or 6 fields ([second] minute hour day-of-month month day-of-week), e.g. '0 0 9 1 * *' for 09:00 on the 1st of every month";

/** A cron pattern BullMQ's job scheduler accepts; numbers are range-checked so a typo fails at start, not at the first run. */
const cronPattern = z.string().refine((v) => {
  const parts = v.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return false;
  const fields = parts.length === 5 ? ['0', ...parts] : parts;
  return fields.every((f, i) => /^[\d*?LW#,/A-Za-z-]+$/.test(f)
    && (f.match(/\d+/g) ?? []).every((n) => i === 5 && f.includes('#') ? true : Number(n) <= CRON_RANGES[i]![1]));
}, CRON_HELP);

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `Name=value,Name=value`: an IdP name (department, group) mapped onto one of `allowed`. */
const nameMap = (setting: string, allowed: readonly string[]) => z.string().transform((v, ctx) => {
  const out: Record<string, string> = {};
  for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.lastIndexOf('=');
    const name = eq > 0 ? part.slice(0, eq).trim() : '';
    const to = eq > 0 ? part.slice(eq + 1).trim() : '';
    if (!name || !allowed.includes(to)) {
      ctx.addIssue({ code: 'custom', message: `${setting} must be a comma-separated list of IdP-name=value, each value one of ${allowed.join(', ')} (got "${part.slice(0, 40)}")` });
      return z.NEVER;
    }
    out[name.toLowerCase()] = to;
  }
  return out;
});

/** Bearer tokens for the SCIM endpoint; several so one can be rotated while the IdP still uses the other. */
const scimTokens = z.string().transform((v, ctx) => {
  const tokens = v.split(',').map((t) => t.trim()).filter(Boolean);
  if (tokens.some((t) => t.length < 32 || !/^[\x21-\x7e]+$/.test(t))) {
    ctx.addIssue({ code: 'custom', message: 'CUSTOS_SCIM_TOKENS must be comma-separated tokens of at least 32 printable characters each (generate one with: openssl rand -base64 32)' });
    return z.NEVER;
  }
  return tokens;
});

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CUSTOS_LOCALE: z.enum(LOCALES).default('zh-CN'),
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'MONGODB_URI must start with mongodb:// or mongodb+srv://').optional(),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'MONGODB_DB must be 1-63 letters, digits, _ or -').default('custos'),
  // REDIS_* and CUSTOS_QUEUE_PREFIX: bot/config-redis.ts.
  CUSTOS_DATA_KEYS: dataKeys.optional(),
  CUSTOS_BLIND_INDEX_KEY: key32('CUSTOS_BLIND_INDEX_KEY').optional(),
  // Key of the name / company fragment-search tokens; unset: derived from CUSTOS_BLIND_INDEX_KEY (HKDF).
  CUSTOS_SEARCH_TOKEN_KEY: key32('CUSTOS_SEARCH_TOKEN_KEY').optional(),
  // Unwrapped per-customer data keys kept in memory (never persisted): how many, and for how long.
  CUSTOS_KEY_CACHE_SIZE: z.coerce.number().int().min(0, 'CUSTOS_KEY_CACHE_SIZE must be 0 (no cache) to 1000000').max(1_000_000, 'CUSTOS_KEY_CACHE_SIZE must be 0 (no cache) to 1000000').default(10_000),
  CUSTOS_KEY_CACHE_SECONDS: z.coerce.number().int().min(1, 'CUSTOS_KEY_CACHE_SECONDS must be 1-3600').max(3600, 'CUSTOS_KEY_CACHE_SECONDS must be 1-3600').default(300),
  // File listing erased customer ids, one a line: appended by `custos customer erase`, re-applied at
  // every start so a database restored from a backup cannot bring an erased customer back.
  CUSTOS_ERASURE_LIST: z.string().min(1).default('.data/erasures.txt'),
  CUSTOS_AUDIT_HMAC_KEY: key32('CUSTOS_AUDIT_HMAC_KEY').optional(),
  CUSTOS_AUDIT_SIGNING_KEY: key32('CUSTOS_AUDIT_SIGNING_KEY').optional(),
  CUSTOS_POLICY_DIR: z.string().min(1).default('policies'),
  // Audit pipeline tuning (README: Audit pipeline). Small values in tests make stall recovery quick.
  CUSTOS_AUDIT_ENQUEUE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1500),
  CUSTOS_AUDIT_RECONNECT_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  CUSTOS_AUDIT_LOCK_MS: z.coerce.number().int().min(200).max(600_000).default(30_000),
  CUSTOS_AUDIT_STALLED_MS: z.coerce.number().int().min(200).max(600_000).default(30_000),
  CUSTOS_AUDIT_LEASE_MS: z.coerce.number().int().min(200).max(600_000).default(15_000),
  CUSTOS_AUDIT_BATCH: z.coerce.number().int().min(1).max(5_000).default(500),
  CUSTOS_AUDIT_LINGER_MS: z.coerce.number().int().min(0).max(1_000).default(50),
  CUSTOS_AUDIT_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  CUSTOS_AUDIT_CHECKPOINT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
  CUSTOS_AUDIT_LATE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  // Slack adapter (README: Slack). HTTP mode needs the signing secret, Socket Mode the app-level token.
  SLACK_MODE: z.enum(['http', 'socket']).default('http'),
  SLACK_SIGNING_SECRET: z.string().min(16, 'SLACK_SIGNING_SECRET looks too short; copy it from the app\'s Basic Information page').optional(),
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'SLACK_BOT_TOKEN must be a bot token (xoxb-…)').optional(),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write').optional(),
  SLACK_API_URL: httpUrl('SLACK_API_URL', 'https://slack.com/api/').default('https://slack.com/api/'),
  SLACK_API_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  // Pending answers (README: Scaling): a bot's lease on a request it acknowledged, and how often each
  // replica looks for requests whose bot died.
  CUSTOS_ANSWER_LEASE_MS: z.coerce.number().int().min(200).max(600_000).default(30_000),
  CUSTOS_ANSWER_CLAIM_MS: z.coerce.number().int().min(50).max(600_000).default(5000),
  // Lark / Feishu adapter (README: Lark). HTTP mode needs the encrypt key and verification token (our
  // verifier refuses to run without them); ws mode uses the SDK's long connection and no public URL.
  LARK_MODE: z.enum(['http', 'ws']).default('http'),
  LARK_APP_ID: z.string().regex(/^cli_[A-Za-z0-9]{4,64}$/, 'LARK_APP_ID must be the app id (cli_…) from the app\'s Credentials page').optional(),
  LARK_APP_SECRET: z.string().min(8, 'LARK_APP_SECRET looks too short; copy it from the app\'s Credentials page').optional(),
  LARK_ENCRYPT_KEY: z.string().min(8, 'LARK_ENCRYPT_KEY looks too short; copy it from Events & Callbacks → Encryption strategy').optional(),
  LARK_VERIFICATION_TOKEN: z.string().min(8, 'LARK_VERIFICATION_TOKEN looks too short; copy it from Events & Callbacks → Encryption strategy').optional(),
  LARK_DOMAIN: z.string().refine((v) => v === 'feishu' || v === 'lark' || (/^https?:\/\/\S+$/.test(v) && URL.canParse(v)), {
    message: 'LARK_DOMAIN must be feishu, lark or an http(s) URL such as https://open.feishu.cn',
  }).default('feishu'),
  LARK_HTTP_PORT: portNumber('LARK_HTTP_PORT').default(3001),
  // Where the Lark bot posts anomaly alert cards (a group chat id, oc_…); unset: its alerts are only logged.
  LARK_SECURITY_CHAT: z.string().regex(/^oc_[A-Za-z0-9_]{2,64}$/, 'LARK_SECURITY_CHAT must be a Lark chat id such as oc_a0553eda9014c201e6969b478895c230').optional(),
  CUSTOS_SECURITY_CONTACT: z.string().min(1).max(200).default('#security'),
  // Where anomaly alert cards go (a Slack channel id, e.g. C0123ABCD); unset: alerts are only logged.
  CUSTOS_SECURITY_CHANNEL: z.string().regex(/^[CGD][A-Z0-9]{2,30}$/, 'CUSTOS_SECURITY_CHANNEL must be a Slack channel id such as C0123ABCD').optional(),
  // How long audit events are kept before they may be archived (PIPL Art. 55-56: at least 3 years).
  CUSTOS_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1095, 'CUSTOS_AUDIT_RETENTION_DAYS must be at least 1095 (3 years): audit events are kept that long before `custos audit archive` may move them out').max(36_500).default(1095),
  // Where `custos audit archive` writes its signed bundles (keep them on write-once storage afterwards).
  CUSTOS_AUDIT_ARCHIVE_DIR: z.string().min(1).default('.data/audit-archive'),
  // After an archive: the signed checkpoint it ended at; chain verification starts there (unset: seq 1).
  CUSTOS_AUDIT_ARCHIVED_CHECKPOINT: z.coerce.number().int().min(1, 'CUSTOS_AUDIT_ARCHIVED_CHECKPOINT must be a checkpoint number (1, 2, 3 …)').optional(),
  // Periodic access review (README: Access review): when cycles open, the period they look back on,
  // and when unanswered reviews are followed up, escalated and the cycle closed (DPO summary).
  CUSTOS_REVIEW_SCHEDULE: cronPattern.default('0 0 9 1 * *'),
  CUSTOS_REVIEW_TZ: z.string().refine(isTimeZone, 'CUSTOS_REVIEW_TZ must be an IANA time zone such as Asia/Shanghai or UTC').default('Asia/Shanghai'),
  CUSTOS_REVIEW_LOOKBACK_DAYS: z.coerce.number().int().min(1, 'CUSTOS_REVIEW_LOOKBACK_DAYS must be 1-366 days').max(366, 'CUSTOS_REVIEW_LOOKBACK_DAYS must be 1-366 days').default(30),
  CUSTOS_REVIEW_FOLLOW_UP_HOURS: z.coerce.number().int().min(1).max(8760).default(72),
  CUSTOS_REVIEW_ESCALATE_HOURS: z.coerce.number().int().min(1).max(8760).default(168),
  CUSTOS_REVIEW_CLOSE_HOURS: z.coerce.number().int().min(1).max(8760).default(336),
  CUSTOS_REVIEW_SWEEP_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: portNumber('HTTP_PORT').default(3000),
  // The local playground (README: Playground) refuses a non-loopback HTTP_HOST unless this is true.
  CUSTOS_PLAYGROUND_ALLOW_REMOTE: z.enum(['true', 'false'], { error: 'CUSTOS_PLAYGROUND_ALLOW_REMOTE must be true or false' }).default('false'),
  // SCIM 2.0 provisioning from an identity provider (README: SCIM). No tokens: the endpoint answers 404.
  CUSTOS_SCIM_TOKENS: scimTokens.optional(),
  CUSTOS_SCIM_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(600),
  CUSTOS_SCIM_RATE_BURST: z.coerce.number().int().min(1).max(100_000).default(100),
  CUSTOS_SCIM_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(65_536),
  CUSTOS_SCIM_DEFAULT_DEPARTMENT: z.enum(DEPARTMENTS, { error: `CUSTOS_SCIM_DEFAULT_DEPARTMENT must be one of ${DEPARTMENTS.join(', ')}` }).optional(),
  CUSTOS_SCIM_DEFAULT_REGION: z.enum(REGIONS, { error: `CUSTOS_SCIM_DEFAULT_REGION must be one of ${REGIONS.join(', ')}` }).default('east'),
  CUSTOS_SCIM_DEPARTMENTS: nameMap('CUSTOS_SCIM_DEPARTMENTS', DEPARTMENTS).default({}),
  CUSTOS_SCIM_GROUP_ROLES: nameMap('CUSTOS_SCIM_GROUP_ROLES', ROLES).default({}),
  CUSTOS_SCIM_ALLOW_REACTIVATION: z.enum(['true', 'false'], { error: 'CUSTOS_SCIM_ALLOW_REACTIVATION must be true or false' }).default('false'),
});

type Raw = z.infer<typeof schema>;

export interface Config {
  env: Raw['NODE_ENV'];
  logLevel: Raw['LOG_LEVEL'];
  defaultLocale: Locale;
  mongo: { uri: string; db: string } | undefined;
  /** Standalone, Cluster or Sentinel (bot/config-redis.ts); clients come from bot/store/redis-client.ts. */
  redis: RedisSettings | undefined;
  crypto: {
    dataKeys: { id: string; key: Buffer }[]; blindIndexKey: Buffer; searchTokenKey?: Buffer;
    keyCacheSize: number; keyCacheSeconds: number; erasureList: string;
  } | undefined;
  audit: { hmacKey: Buffer; signingKey: Buffer } | undefined;
  /** Audit queue / worker tuning; always present (defaults). */
  auditPipeline: AuditPipelineSettings;
  policyDir: string;
  http: { host: string; port: number };
  /** The pending-answer ledger's lease and claim interval (bot/runtime/pending-answers.ts). */
  pendingAnswers: { leaseMs: number; claimEveryMs: number };
  /** The local playground (used when no chat platform is configured). */
  playground: { allowRemote: boolean };
  slack: SlackSettings | undefined;
  lark: LarkSettings | undefined;
  /** Who users are told to ask when they are refused (a channel, an alias, a person). */
  securityContact: string;
  /** Slack channel id for anomaly alert cards (unset: alerts are logged only). */
  securityChannel: string | undefined;
  /** Days audit events are kept before the archive procedure may move them out (≥ 1095). */
  auditRetentionDays: number;
  /** The signed checkpoint the last archive ended at: verification starts there (unset: from seq 1). */
  auditArchivedCheckpoint: number | undefined;
  /** Where `custos audit archive` writes bundles. */
  auditArchiveDir: string;
  /** The periodic access review (workers/reviews). */
  review: ReviewSettings;
  /** SCIM 2.0 provisioning (bot/scim); undefined when no token is configured (the endpoint is off). */
  scim: ScimSettings | undefined;
}

export interface ScimSettings {
  tokens: string[]; // any of them is accepted (rotation); compared in constant time
  ratePerMinute: number; // sustained requests per token
  rateBurst: number;
  maxBodyBytes: number;
  /** Department of a user whose IdP department is missing or unmapped; unset: such a user is refused. */
  defaultDepartment: Department | undefined;
  defaultRegion: Region;
  /** Lower-cased IdP department name → custos department. */
  departments: Record<string, Department>;
  /** Lower-cased IdP group displayName → custos role. */
  groupRoles: Record<string, Role>;
  allowReactivation: boolean;
}

export interface ReviewSettings {
  schedule: { pattern: string; tz: string }; // when a review cycle opens (BullMQ job scheduler)
  lookbackDays: number; // the period whose lookups the cards and the DPO summary report
  followUpHours: number; // unanswered this long after opening: the reviewer is reminded once
  escalateHours: number; // …this long: a card goes to the reviewer's manager (the DPO if none)
  closeHours: number; // …this long: the cycle closes and the DPO gets the summary
  sweepMinutes: number; // how often follow-ups, escalations and closing are checked
}

export interface SlackSettings {
  mode: 'http' | 'socket';
  botToken: string;
  signingSecret: string | undefined; // required in http mode
  appToken: string | undefined; // required in socket mode
  apiUrl: string;
  apiRetries: number;
}

export interface LarkSettings {
  mode: 'http' | 'ws';
  appId: string;
  appSecret: string;
  encryptKey: string | undefined; // required in http mode
  verificationToken: string | undefined; // required in http mode
  /** Open API base URL: https://open.feishu.cn, https://open.larksuite.com or a custom one (proxies, tests). */
  domain: string;
  /** Port of the Lark events endpoint (its own listener, so Slack and Lark can run in one process). */
  httpPort: number;
  /** The group chat that receives anomaly alert cards; unset: alerts are only logged. */
  securityChat: string | undefined;
}

export interface AuditPipelineSettings {
  enqueueTimeoutMs: number; // producer: how long `record` may wait for Redis before refusing
  reconnectWaitMs: number; // producer: how long `record` waits for a dropped connection (a failover) to come back
  lockMs: number; // BullMQ lockDuration of an audit job being written
  stalledMs: number; // BullMQ stalledInterval: how often crashed workers' jobs are recovered
  leaseMs: number; // chain-writer lease in Redis; a crashed writer is replaced after this
  batchSize: number; // events stored per chain write
  lingerMs: number; // under load, how long a batch waits for more events before it is stored
  checkpointEvery: number; // signed checkpoint after this many new events…
  checkpointSeconds: number; // …or this many seconds
  lateSeconds: number; // stored later than this after occurredAt → `late: true`
}

/** Sections a command can insist on; each lists the settings that make it up. */
const SECTIONS = {
  mongo: ['MONGODB_URI'],
  redis: ['REDIS_URL'],
  crypto: ['CUSTOS_DATA_KEYS', 'CUSTOS_BLIND_INDEX_KEY'],
  audit: ['CUSTOS_AUDIT_HMAC_KEY', 'CUSTOS_AUDIT_SIGNING_KEY'],
  slack: ['SLACK_BOT_TOKEN'],
  lark: ['LARK_APP_ID', 'LARK_APP_SECRET'],
} as const;
export type ConfigSection = keyof typeof SECTIONS;

const HOW_TO_SET: Record<string, string> = {
  MONGODB_URI: 'set MONGODB_URI=mongodb://HOST:PORT (or run `npm run services` to start one locally)',
  REDIS_URL: 'set REDIS_URL=redis://HOST:PORT (or run `npm run services` to start one locally); a Redis Cluster: REDIS_CLUSTER_NODES=HOST:PORT,…; Sentinel: REDIS_SENTINELS=HOST:PORT,… and REDIS_SENTINEL_NAME',
  CUSTOS_DATA_KEYS: 'set CUSTOS_DATA_KEYS=k1:$(openssl rand -base64 32)',
  CUSTOS_BLIND_INDEX_KEY: 'set CUSTOS_BLIND_INDEX_KEY=$(openssl rand -base64 32)',
  CUSTOS_AUDIT_HMAC_KEY: 'set CUSTOS_AUDIT_HMAC_KEY=$(openssl rand -base64 32)',
  CUSTOS_AUDIT_SIGNING_KEY: 'set CUSTOS_AUDIT_SIGNING_KEY=$(openssl rand -base64 32)',
  SLACK_BOT_TOKEN: 'set SLACK_BOT_TOKEN=xoxb-… (OAuth & Permissions page of the Slack app)',
  SLACK_SIGNING_SECRET: 'set SLACK_SIGNING_SECRET (Basic Information page of the Slack app), or SLACK_MODE=socket',
  SLACK_APP_TOKEN: 'set SLACK_APP_TOKEN=xapp-… (an app-level token with connections:write), or SLACK_MODE=http',
  LARK_APP_ID: 'set LARK_APP_ID=cli_… (Credentials & Basic Info page of the Lark / Feishu app)',
  LARK_APP_SECRET: 'set LARK_APP_SECRET (Credentials & Basic Info page of the Lark / Feishu app)',
  LARK_ENCRYPT_KEY: 'set LARK_ENCRYPT_KEY (Events & Callbacks → Encryption strategy), or LARK_MODE=ws',
  LARK_VERIFICATION_TOKEN: 'set LARK_VERIFICATION_TOKEN (Events & Callbacks → Encryption strategy), or LARK_MODE=ws',
};

/** Replaces `NAME_FILE` settings by the file's content; collects problems instead of throwing. */
function resolveFiles(env: NodeJS.ProcessEnv, problems: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_SETTINGS) {
    const fromFile = readSettingFile(env, name, problems);
    if (fromFile !== undefined) out[name] = fromFile;
  }
  // Empty strings count as unset, as a shell `VAR=` usually means.
  for (const k of Object.keys(out)) if (out[k] === '') delete out[k];
  return out;
}

/**
 * Parses the whole configuration. Throws one CustosError(ConfigInvalid) whose message lists every
 * problem, one per line, each naming the setting and how to fix it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: { require?: ConfigSection[] } = {}): Config {
  const problems: string[] = [];
  const values = resolveFiles(env, problems);
  const parsed = schema.safeParse(values);
  if (!parsed.success) zodProblems(parsed.error, problems);
  const redis = parseRedisSection(values, problems);
  for (const section of opts.require ?? []) {
    if (section === 'redis') {
      if (!redisConfigured(values)) problems.push(`REDIS_URL is required here; ${HOW_TO_SET.REDIS_URL}`);
      continue;
    }
    for (const name of SECTIONS[section]) {
      if (values[name] === undefined) problems.push(`${name} is required here; ${HOW_TO_SET[name] ?? `set ${name}`}`);
    }
  }
  if (opts.require?.includes('slack')) {
    const needed = values.SLACK_MODE === 'socket' ? 'SLACK_APP_TOKEN' : 'SLACK_SIGNING_SECRET';
    if (values[needed] === undefined) problems.push(`${needed} is required here; ${HOW_TO_SET[needed]}`);
  }
  // The SDK's WSClient.start() only logs and returns for any other id, so the bot would run unconnected.
  if (values.LARK_MODE === 'ws' && values.LARK_APP_ID !== undefined && !/^cli_[0-9a-fA-F]{16}$/.test(values.LARK_APP_ID)) {
    problems.push('LARK_APP_ID must be cli_ followed by 16 hex digits in LARK_MODE=ws (copy it from the app\'s Credentials page)');
  }
  if (opts.require?.includes('lark') && values.LARK_MODE !== 'ws') {
    // Fail closed: without both, the SDK would accept unsigned events (REFERENCE §3).
    for (const needed of ['LARK_ENCRYPT_KEY', 'LARK_VERIFICATION_TOKEN']) {
      if (values[needed] === undefined) problems.push(`${needed} is required here; ${HOW_TO_SET[needed]}`);
    }
  }
  if (parsed.success) reviewOrderProblem(parsed.data, problems);
  if (problems.length > 0 || !parsed.success) {
    const unique = [...new Set(problems)];
    throw new CustosError(
      ErrorCode.ConfigInvalid,
      `invalid configuration (${unique.length} problem${unique.length === 1 ? '' : 's'}):\n${unique.map((p) => `  - ${p}`).join('\n')}`,
      { problems: unique },
    );
  }
  const r = parsed.data;
  const b64 = (v: string) => Buffer.from(v, 'base64');
  return {
    env: r.NODE_ENV,
    logLevel: r.LOG_LEVEL,
    defaultLocale: r.CUSTOS_LOCALE,
    mongo: r.MONGODB_URI ? { uri: r.MONGODB_URI, db: r.MONGODB_DB } : undefined,
    redis,
    crypto: r.CUSTOS_DATA_KEYS && r.CUSTOS_BLIND_INDEX_KEY
      ? {
        dataKeys: r.CUSTOS_DATA_KEYS, blindIndexKey: b64(r.CUSTOS_BLIND_INDEX_KEY),
        ...(r.CUSTOS_SEARCH_TOKEN_KEY ? { searchTokenKey: b64(r.CUSTOS_SEARCH_TOKEN_KEY) } : {}),
        keyCacheSize: r.CUSTOS_KEY_CACHE_SIZE, keyCacheSeconds: r.CUSTOS_KEY_CACHE_SECONDS, erasureList: r.CUSTOS_ERASURE_LIST,
      }
      : undefined,
    audit: r.CUSTOS_AUDIT_HMAC_KEY && r.CUSTOS_AUDIT_SIGNING_KEY
      ? { hmacKey: b64(r.CUSTOS_AUDIT_HMAC_KEY), signingKey: b64(r.CUSTOS_AUDIT_SIGNING_KEY) }
      : undefined,
    auditPipeline: {
      enqueueTimeoutMs: r.CUSTOS_AUDIT_ENQUEUE_TIMEOUT_MS,
      reconnectWaitMs: r.CUSTOS_AUDIT_RECONNECT_WAIT_MS,
      lockMs: r.CUSTOS_AUDIT_LOCK_MS,
      stalledMs: r.CUSTOS_AUDIT_STALLED_MS,
      leaseMs: r.CUSTOS_AUDIT_LEASE_MS,
      batchSize: r.CUSTOS_AUDIT_BATCH,
      lingerMs: r.CUSTOS_AUDIT_LINGER_MS,
      checkpointEvery: r.CUSTOS_AUDIT_CHECKPOINT_EVERY,
      checkpointSeconds: r.CUSTOS_AUDIT_CHECKPOINT_SECONDS,
      lateSeconds: r.CUSTOS_AUDIT_LATE_SECONDS,
    },
    policyDir: r.CUSTOS_POLICY_DIR,
    http: { host: r.HTTP_HOST, port: r.HTTP_PORT },
    pendingAnswers: { leaseMs: r.CUSTOS_ANSWER_LEASE_MS, claimEveryMs: r.CUSTOS_ANSWER_CLAIM_MS },
    playground: { allowRemote: r.CUSTOS_PLAYGROUND_ALLOW_REMOTE === 'true' },
    slack: r.SLACK_BOT_TOKEN
      ? {
        mode: r.SLACK_MODE, botToken: r.SLACK_BOT_TOKEN, signingSecret: r.SLACK_SIGNING_SECRET, appToken: r.SLACK_APP_TOKEN,
        apiUrl: r.SLACK_API_URL.endsWith('/') ? r.SLACK_API_URL : `${r.SLACK_API_URL}/`, apiRetries: r.SLACK_API_RETRIES,
      }
      : undefined,
    lark: r.LARK_APP_ID && r.LARK_APP_SECRET
      ? {
        mode: r.LARK_MODE, appId: r.LARK_APP_ID, appSecret: r.LARK_APP_SECRET, encryptKey: r.LARK_ENCRYPT_KEY,
        verificationToken: r.LARK_VERIFICATION_TOKEN, domain: larkDomain(r.LARK_DOMAIN), httpPort: r.LARK_HTTP_PORT,
        securityChat: r.LARK_SECURITY_CHAT,
      }
      : undefined,
    securityContact: r.CUSTOS_SECURITY_CONTACT,
    securityChannel: r.CUSTOS_SECURITY_CHANNEL,
    auditRetentionDays: r.CUSTOS_AUDIT_RETENTION_DAYS,
    auditArchivedCheckpoint: r.CUSTOS_AUDIT_ARCHIVED_CHECKPOINT,
    auditArchiveDir: r.CUSTOS_AUDIT_ARCHIVE_DIR,
    review: {
      schedule: { pattern: r.CUSTOS_REVIEW_SCHEDULE.trim().split(/\s+/).join(' '), tz: r.CUSTOS_REVIEW_TZ },
      lookbackDays: r.CUSTOS_REVIEW_LOOKBACK_DAYS,
      followUpHours: r.CUSTOS_REVIEW_FOLLOW_UP_HOURS,
      escalateHours: r.CUSTOS_REVIEW_ESCALATE_HOURS,
      closeHours: r.CUSTOS_REVIEW_CLOSE_HOURS,
      sweepMinutes: r.CUSTOS_REVIEW_SWEEP_MINUTES,
    },
    scim: r.CUSTOS_SCIM_TOKENS
      ? {
        tokens: r.CUSTOS_SCIM_TOKENS, ratePerMinute: r.CUSTOS_SCIM_RATE_PER_MINUTE, rateBurst: r.CUSTOS_SCIM_RATE_BURST,
        maxBodyBytes: r.CUSTOS_SCIM_MAX_BODY_BYTES, defaultDepartment: r.CUSTOS_SCIM_DEFAULT_DEPARTMENT, defaultRegion: r.CUSTOS_SCIM_DEFAULT_REGION,
        departments: r.CUSTOS_SCIM_DEPARTMENTS as Record<string, Department>, groupRoles: r.CUSTOS_SCIM_GROUP_ROLES as Record<string, Role>,
        allowReactivation: r.CUSTOS_SCIM_ALLOW_REACTIVATION === 'true',
      }
      : undefined,
  };
}

/** Follow-up, escalation and closing must come in that order, or a step would never happen. */
function reviewOrderProblem(r: Raw, problems: string[]): void {
  if (r.CUSTOS_REVIEW_FOLLOW_UP_HOURS < r.CUSTOS_REVIEW_ESCALATE_HOURS && r.CUSTOS_REVIEW_ESCALATE_HOURS < r.CUSTOS_REVIEW_CLOSE_HOURS) return;
  problems.push(`CUSTOS_REVIEW_FOLLOW_UP_HOURS (${r.CUSTOS_REVIEW_FOLLOW_UP_HOURS}) < CUSTOS_REVIEW_ESCALATE_HOURS (${r.CUSTOS_REVIEW_ESCALATE_HOURS}) < CUSTOS_REVIEW_CLOSE_HOURS (${r.CUSTOS_REVIEW_CLOSE_HOURS}) must hold; raise the later ones or lower the earlier ones`);
}

/** LARK_DOMAIN → the Open API base URL the SDK is given (a custom URL is used verbatim, without a trailing slash). */
function larkDomain(value: string): string {
  if (value === 'feishu') return 'https://open.feishu.cn';
  if (value === 'lark') return 'https://open.larksuite.com';
  return value.replace(/\/+$/, '');
}

/** Narrows a section that `loadConfig({ require })` has already guaranteed. */
export function section<K extends ConfigSection>(config: Config, name: K): NonNullable<Config[K]> {
  const value = config[name];
  if (value === undefined) {
    throw new CustosError(ErrorCode.ConfigInvalid, `configuration section "${name}" is missing: set ${SECTIONS[name].join(', ')}`);
  }
  return value as NonNullable<Config[K]>;
}
