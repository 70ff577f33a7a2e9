// The CUSTOS_STREAM_* settings: defaults, each sink's required settings, every problem reported at once.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { loadStreamConfig } from '../bot/config-stream.ts';
import { isCustosError, ErrorCode } from '../bot/core/errors.ts';

const TOKEN = '12345678-1234-1234-1234-123456789abc';
const CHANNEL = 'a1b2c3d4-0000-4000-8000-00000000abcd';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadStreamConfig(env);
  } catch (err) {
    if (isCustosError(err, ErrorCode.ConfigInvalid)) return err.details.problems as string[];
    throw err;
  }
  return [];
}

test('no settings: no sinks, no anchors, documented defaults', (t) => {
  const s = loadStreamConfig({});
  t.deepEqual(s.sinks, []);
  t.is(s.anchorFile, undefined);
  t.like(s, { batchSize: 1000, window: 4, pollMs: 1000, backoffMaxMs: 30_000, lagAlert: 10_000 });
});

test('all three sinks configured', (t) => {
  const s = loadStreamConfig({
    CUSTOS_STREAM_SINKS: 'splunk, syslog,otlp',
    CUSTOS_STREAM_SPLUNK_URL: 'https://splunk.example.com:8088/', CUSTOS_STREAM_SPLUNK_TOKEN: TOKEN, CUSTOS_STREAM_SPLUNK_CHANNEL: CHANNEL,
    CUSTOS_STREAM_SYSLOG_HOST: 'siem.example.com', CUSTOS_STREAM_SYSLOG_PORT: '6514', CUSTOS_STREAM_SYSLOG_TLS: 'true',
    CUSTOS_STREAM_OTLP_URL: 'http://otel:4318/v1/logs', CUSTOS_STREAM_OTLP_HEADERS: 'Authorization=Bearer x, x-tenant=t1',
    CUSTOS_STREAM_ANCHOR_FILE: '/var/lib/custos/anchors.jsonl',
  });
  t.deepEqual(s.sinks.map((k) => k.kind), ['splunk', 'syslog', 'otlp']);
  t.like(s.sinks[0], { url: 'https://splunk.example.com:8088', token: TOKEN, channel: CHANNEL });
  t.like(s.sinks[1], { host: 'siem.example.com', port: 6514, tls: true, replay: 10_000 });
  t.deepEqual((s.sinks[2] as { headers: Record<string, string> }).headers, { authorization: 'Bearer x', 'x-tenant': 't1' });
  t.is(s.anchorFile, '/var/lib/custos/anchors.jsonl');
});

test('every problem at once, each naming its setting and how to fix it', (t) => {
  const p = problems({
    CUSTOS_STREAM_SINKS: 'splunk,syslog,kafka,otlp',
    CUSTOS_STREAM_SPLUNK_TOKEN: 'not-a-guid',
    CUSTOS_STREAM_SYSLOG_PORT: '70000',
    CUSTOS_STREAM_BATCH: '0',
    CUSTOS_STREAM_SYSLOG_CA_FILE: '/ca.pem',
    CUSTOS_STREAM_OTLP_HEADERS: 'no-equals-sign',
  });
  const has = (re: RegExp) => t.true(p.some((x) => re.test(x)), `expected a problem matching ${re}: ${p.join(' | ')}`);
  has(/CUSTOS_STREAM_SINKS names "kafka"/);
  has(/CUSTOS_STREAM_SPLUNK_TOKEN must be the HEC token/);
  has(/CUSTOS_STREAM_SYSLOG_PORT must be a whole number from 1 to 65535/);
  has(/CUSTOS_STREAM_BATCH must be a whole number from 1 to 10000/);
  has(/CUSTOS_STREAM_SYSLOG_CA_FILE is set but CUSTOS_STREAM_SYSLOG_TLS is not true/);
  has(/CUSTOS_STREAM_OTLP_HEADERS must be name=value pairs/);
  t.true(p.length >= 6);
});

test('a listed sink without its settings names each missing one', (t) => {
  const p = problems({ CUSTOS_STREAM_SINKS: 'splunk,syslog,otlp' });
  for (const name of ['SPLUNK_URL', 'SPLUNK_TOKEN', 'SPLUNK_CHANNEL', 'SYSLOG_HOST', 'SYSLOG_PORT', 'OTLP_URL']) {
    t.true(p.some((x) => x.startsWith(`CUSTOS_STREAM_${name} is required when CUSTOS_STREAM_SINKS lists`)), name);
  }
});

test('the HEC token may come from a file; not both', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-stream-'));
  const file = path.join(dir, 'token');
  writeFileSync(file, `${TOKEN}\n`);
  const env = { CUSTOS_STREAM_SINKS: 'splunk', CUSTOS_STREAM_SPLUNK_URL: 'http://127.0.0.1:8088', CUSTOS_STREAM_SPLUNK_CHANNEL: CHANNEL, CUSTOS_STREAM_SPLUNK_TOKEN_FILE: file };
  t.like(loadStreamConfig(env).sinks[0], { token: TOKEN });
  t.true(problems({ ...env, CUSTOS_STREAM_SPLUNK_TOKEN: TOKEN }).some((x) => x.includes('both set')));
  t.true(problems({ ...env, CUSTOS_STREAM_SPLUNK_TOKEN_FILE: path.join(dir, 'missing') }).some((x) => x.includes('cannot be read')));
});
