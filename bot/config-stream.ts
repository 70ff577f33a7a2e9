// Configuration of the audit stream (workers/stream) and of checkpoint anchors: the CUSTOS_STREAM_*
// settings, parsed once with zod, every problem reported at once with how to fix it (as bot/config.ts
// does for the rest). Secrets (the HEC token, OTLP headers) may come from files (`NAME_FILE`).
import { z } from 'zod';
import { httpUrl, readSettingFile, zodProblems } from './config-env.ts';
import { CustosError, ErrorCode } from './core/errors.ts';

export const STREAM_SINK_KINDS = ['splunk', 'syslog', 'otlp'] as const;
export type StreamSinkKind = (typeof STREAM_SINK_KINDS)[number];

/** Whether plain `custos start` runs the stream: a sink or an anchor is configured. Here, not in
 * workers/stream, so deciding costs no load of the stream's modules. */
export function streamConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.CUSTOS_STREAM_SINKS || env.CUSTOS_STREAM_ANCHOR_FILE || env.CUSTOS_STREAM_ANCHOR_URL);
}

const SECRET_SETTINGS = ['CUSTOS_STREAM_SPLUNK_TOKEN', 'CUSTOS_STREAM_OTLP_HEADERS'] as const;

const bool = (name: string) => z.enum(['true', 'false'], { error: `${name} must be true or false` });
const int = (name: string, min: number, max: number) =>
  z.coerce.number({ error: `${name} must be a whole number from ${min} to ${max}` }).int(`${name} must be a whole number from ${min} to ${max}`)
    .min(min, `${name} must be a whole number from ${min} to ${max}`).max(max, `${name} must be a whole number from ${min} to ${max}`);

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const schema = z.object({
  CUSTOS_STREAM_SINKS: z.string().default('').transform((v, ctx) => {
    const names = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const n of names) {
      if (!(STREAM_SINK_KINDS as readonly string[]).includes(n)) ctx.addIssue({ code: 'custom', message: `CUSTOS_STREAM_SINKS names "${n}"; use a comma-separated list of ${STREAM_SINK_KINDS.join(', ')}` });
    }
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: 'CUSTOS_STREAM_SINKS names a sink twice; list each once' });
    return names as StreamSinkKind[];
  }),
  CUSTOS_STREAM_BATCH: int('CUSTOS_STREAM_BATCH', 1, 10_000).default(1000),
  CUSTOS_STREAM_WINDOW: int('CUSTOS_STREAM_WINDOW', 1, 64).default(4),
  CUSTOS_STREAM_POLL_MS: int('CUSTOS_STREAM_POLL_MS', 10, 60_000).default(1000),
  CUSTOS_STREAM_BACKOFF_MAX_MS: int('CUSTOS_STREAM_BACKOFF_MAX_MS', 100, 600_000).default(30_000),
  CUSTOS_STREAM_LAG_ALERT: int('CUSTOS_STREAM_LAG_ALERT', 1, 100_000_000).default(10_000),
  CUSTOS_STREAM_SPLUNK_URL: httpUrl('CUSTOS_STREAM_SPLUNK_URL', 'https://splunk.example.com:8088').optional(),
  CUSTOS_STREAM_SPLUNK_TOKEN: z.string().regex(UUID_RE, 'CUSTOS_STREAM_SPLUNK_TOKEN must be the HEC token, a GUID (Settings → Data inputs → HTTP Event Collector)').optional(),
  CUSTOS_STREAM_SPLUNK_CHANNEL: z.string().regex(UUID_RE, 'CUSTOS_STREAM_SPLUNK_CHANNEL must be a GUID (generate one with: uuidgen); indexer acknowledgement is per channel').optional(),
  CUSTOS_STREAM_SPLUNK_INDEX: z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,79}$/, 'CUSTOS_STREAM_SPLUNK_INDEX must be a Splunk index name (lower-case letters, digits, _ and -)').optional(),
  CUSTOS_STREAM_SPLUNK_ACK_TIMEOUT_MS: int('CUSTOS_STREAM_SPLUNK_ACK_TIMEOUT_MS', 100, 600_000).default(60_000),
  CUSTOS_STREAM_SYSLOG_HOST: z.string().regex(/^[A-Za-z0-9.:[\]-]{1,253}$/, 'CUSTOS_STREAM_SYSLOG_HOST must be a host name or IP address').optional(),
  CUSTOS_STREAM_SYSLOG_PORT: int('CUSTOS_STREAM_SYSLOG_PORT', 1, 65_535).optional(),
  CUSTOS_STREAM_SYSLOG_TLS: bool('CUSTOS_STREAM_SYSLOG_TLS').default('false'),
  CUSTOS_STREAM_SYSLOG_CA_FILE: z.string().min(1).optional(),
  CUSTOS_STREAM_SYSLOG_REPLAY: int('CUSTOS_STREAM_SYSLOG_REPLAY', 0, 1_000_000).default(10_000),
  CUSTOS_STREAM_SYSLOG_HOSTNAME: z.string().regex(/^[!-~]{1,255}$/, 'CUSTOS_STREAM_SYSLOG_HOSTNAME must be printable ASCII without spaces (RFC 5424 HOSTNAME)').default('custos'),
  CUSTOS_STREAM_OTLP_URL: httpUrl('CUSTOS_STREAM_OTLP_URL', 'http://otel-collector:4318/v1/logs').optional(),
  CUSTOS_STREAM_OTLP_HEADERS: z.string().default('').transform((v, ctx) => {
    const headers: Record<string, string> = {};
    for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = /^([A-Za-z0-9-]{1,64})=(.+)$/.exec(part);
      if (!m) { ctx.addIssue({ code: 'custom', message: 'CUSTOS_STREAM_OTLP_HEADERS must be name=value pairs separated by commas (e.g. authorization=Bearer abc)' }); continue; }
      headers[m[1]!.toLowerCase()] = m[2]!.trim();
    }
    return headers;
  }),
  CUSTOS_STREAM_ANCHOR_FILE: z.string().min(1).optional(),
  CUSTOS_STREAM_ANCHOR_URL: httpUrl('CUSTOS_STREAM_ANCHOR_URL', 'https://anchors.example.com/custos').optional(),
});

export interface SplunkSinkSettings { kind: 'splunk'; url: string; token: string; channel: string; index: string | undefined; ackTimeoutMs: number }
export interface SyslogSinkSettings { kind: 'syslog'; host: string; port: number; tls: boolean; caFile: string | undefined; replay: number; hostname: string }
export interface OtlpSinkSettings { kind: 'otlp'; url: string; headers: Record<string, string> }
export type StreamSinkSettings = SplunkSinkSettings | SyslogSinkSettings | OtlpSinkSettings;

export interface StreamSettings {
  sinks: StreamSinkSettings[];
  batchSize: number; // records per batch read and sent
  window: number; // batches in flight per sink (sent, waiting for their acknowledgement)
  pollMs: number; // how often a caught-up sink looks for new records
  backoffMaxMs: number; // longest wait between retries of a failing sink
  lagAlert: number; // records behind the chain's end before an alert is raised
  anchorFile: string | undefined; // append-only JSON lines of signed checkpoints
  anchorUrl: string | undefined; // each signed checkpoint is POSTed here
}

/** Each sink's required settings, and how to set them. */
const REQUIRED: Record<StreamSinkKind, [string, string][]> = {
  splunk: [
    ['CUSTOS_STREAM_SPLUNK_URL', 'the HEC base URL, e.g. https://splunk.example.com:8088'],
    ['CUSTOS_STREAM_SPLUNK_TOKEN', 'a HEC token with indexer acknowledgement enabled'],
    ['CUSTOS_STREAM_SPLUNK_CHANNEL', 'a GUID of your choice (uuidgen), the acknowledgement channel'],
  ],
  syslog: [
    ['CUSTOS_STREAM_SYSLOG_HOST', 'the syslog collector\'s host'],
    ['CUSTOS_STREAM_SYSLOG_PORT', 'its TCP port (6514 for TLS, RFC 5425)'],
  ],
  otlp: [['CUSTOS_STREAM_OTLP_URL', 'the collector\'s OTLP/HTTP logs URL, e.g. http://otel-collector:4318/v1/logs']],
};

function resolveFiles(env: NodeJS.ProcessEnv, problems: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('CUSTOS_STREAM_') && v !== '') out[k] = v;
  for (const name of SECRET_SETTINGS) {
    const fromFile = readSettingFile(env, name, problems);
    if (fromFile !== undefined) out[name] = fromFile;
  }
  return out;
}

/** Parses the CUSTOS_STREAM_* settings; throws one CustosError(ConfigInvalid) listing every problem. */
export function loadStreamConfig(env: NodeJS.ProcessEnv = process.env): StreamSettings {
  const problems: string[] = [];
  const values = resolveFiles(env, problems);
  const parsed = schema.safeParse(values);
  if (!parsed.success) zodProblems(parsed.error, problems);
  const listed = parsed.success ? parsed.data.CUSTOS_STREAM_SINKS : [];
  for (const kind of listed) {
    for (const [name, how] of REQUIRED[kind]) {
      if (values[name] === undefined) problems.push(`${name} is required when CUSTOS_STREAM_SINKS lists ${kind}; set it to ${how}`);
    }
  }
  if (values.CUSTOS_STREAM_SYSLOG_CA_FILE !== undefined && values.CUSTOS_STREAM_SYSLOG_TLS !== 'true') {
    problems.push('CUSTOS_STREAM_SYSLOG_CA_FILE is set but CUSTOS_STREAM_SYSLOG_TLS is not true; set CUSTOS_STREAM_SYSLOG_TLS=true or remove the CA file');
  }
  if (problems.length > 0 || !parsed.success) {
    const unique = [...new Set(problems)];
    throw new CustosError(ErrorCode.ConfigInvalid,
      `invalid audit stream configuration (${unique.length} problem${unique.length === 1 ? '' : 's'}):\n${unique.map((p) => `  - ${p}`).join('\n')}`,
      { problems: unique });
  }
  const r = parsed.data;
  const sinks = listed.map((kind): StreamSinkSettings => {
    if (kind === 'splunk') {
      return { kind, url: r.CUSTOS_STREAM_SPLUNK_URL!.replace(/\/+$/, ''), token: r.CUSTOS_STREAM_SPLUNK_TOKEN!, channel: r.CUSTOS_STREAM_SPLUNK_CHANNEL!, index: r.CUSTOS_STREAM_SPLUNK_INDEX, ackTimeoutMs: r.CUSTOS_STREAM_SPLUNK_ACK_TIMEOUT_MS };
    }
    if (kind === 'syslog') {
      return { kind, host: r.CUSTOS_STREAM_SYSLOG_HOST!, port: r.CUSTOS_STREAM_SYSLOG_PORT!, tls: r.CUSTOS_STREAM_SYSLOG_TLS === 'true', caFile: r.CUSTOS_STREAM_SYSLOG_CA_FILE, replay: r.CUSTOS_STREAM_SYSLOG_REPLAY, hostname: r.CUSTOS_STREAM_SYSLOG_HOSTNAME };
    }
    return { kind, url: r.CUSTOS_STREAM_OTLP_URL!, headers: r.CUSTOS_STREAM_OTLP_HEADERS };
  });
  return {
    sinks,
    batchSize: r.CUSTOS_STREAM_BATCH,
    window: r.CUSTOS_STREAM_WINDOW,
    pollMs: r.CUSTOS_STREAM_POLL_MS,
    backoffMaxMs: r.CUSTOS_STREAM_BACKOFF_MAX_MS,
    lagAlert: r.CUSTOS_STREAM_LAG_ALERT,
    anchorFile: r.CUSTOS_STREAM_ANCHOR_FILE,
    anchorUrl: r.CUSTOS_STREAM_ANCHOR_URL,
  };
}
