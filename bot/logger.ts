// Structured logs (pino). Redaction is a safety net on top of the rule that code never logs secrets or
// customer values: any of these keys, at the top level or one/two levels down, is replaced by [redacted].
import { pino, type Logger, type DestinationStream } from 'pino';

const SENSITIVE_KEYS = [
  // secrets
  'password', 'token', 'secret', 'signingSecret', 'appSecret', 'encryptKey', 'verificationToken', 'authorization',
  'key', 'dataKeys', 'blindIndexKey', 'hmacKey', 'signingKey', 'uri', 'url',
  // customer values (DESIGN.md: never in logs)
  'name', 'phone', 'email', 'address', 'wechat', 'idNumber', 'birthDate', 'bankAccount', 'company', 'query', 'text',
];

export const REDACT_PATHS = SENSITIVE_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const options = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // The process goes under `component` (parts of it log under `module`, so no key repeats in a line),
    // not pino's `name`: `name` is a redacted key (customer names).
    base: { pid: process.pid, component: opts.name ?? 'custos' },
  };
  // stderr by default: stdout belongs to command output (tables, CSV, JSON bench lines).
  return pino(options, opts.destination ?? pino.destination(2));
}

export type { Logger };
