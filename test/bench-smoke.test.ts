// Every bench runs end to end at a tiny size against the test services, so `npm run bench` cannot rot
// unnoticed between the runs that measure. It checks the contract only — exit 0 and, as the last stdout
// line, one JSON object with the bench's figures — never the figures (speed is measured by the benches,
// not asserted by tests).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { entryArgs } from './helpers/run-custos.ts';
import { requireEnv } from './helpers/services.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Tiny sizes for each bench, and the figures its result line must carry. As small as runs every code path
 * of the bench: on FerretDB-on-SQLite, which scans a collection for every filtered read or update, a few
 * hundred documents more cost tens of seconds of CPU (rotate at 200 customers: 21 s in FerretDB, at 50: 2 s).
 */
const BENCHES: Record<string, { env: Record<string, string>; figures: string[] }> = {
  policy: { env: { POLICY_BENCH_ITERATIONS: '2000' }, figures: ['rate', 'baseline_rate', 'cost_ratio'] },
  demo: { env: { BENCH_DEMO_CUSTOMERS: '20' }, figures: ['first_s', 'restart_s', 'seed_s', 'restart_ratio'] },
  import: { env: { BENCH_IMPORT_ROWS: '300' }, figures: ['rate', 'baseline_rate', 'ratio', 'peak_rss_mb'] },
  sync: { env: { BENCH_SYNC_RECORDS: '300' }, figures: ['rate', 'baseline_rate', 'ratio', 'peak_rss_mb'] },
  rotate: { env: { BENCH_ROTATE_CUSTOMERS: '50' }, figures: ['rate', 'baseline_rate', 'ratio'] },
  scim: { env: { BENCH_SCIM_USERS: '10' }, figures: ['rate', 'baseline_rate', 'ratio', 'deprovision_p99_ms'] },
  audit: { env: { BENCH_AUDIT_EVENTS: '300' }, figures: ['rate', 'baseline_rate', 'ratio', 'chain_ok'] },
  stream: { env: { BENCH_STREAM_EVENTS: '300', BENCH_STREAM_LIVE: '100', BENCH_STREAM_BATCH: '100' }, figures: ['rate', 'baseline_rate', 'ratio', 'lag_ms_p99', 'read_rate'] },
  export: { env: { BENCH_EXPORT_ROWS: '150' }, figures: ['rate', 'baseline_rate', 'ratio', 'peak_rss_mb'] },
  'audit-query': { env: { BENCH_AUDIT_QUERY_EVENTS: '600', BENCH_AUDIT_QUERY_ROUNDS: '1', BENCH_AUDIT_QUERY_WARMUP: '0' }, figures: ['p95_ms', 'baseline_p95_ms', 'p95_ratio'] },
  approvals: {
    env: { BENCH_APPROVALS_REQUESTS: '2', BENCH_APPROVALS_CLICKS: '5', BENCH_APPROVALS_HELPS: '2' },
    figures: ['p99_ms', 'baseline_p99_ms', 'p99_ratio', 'decision_events_per_request'],
  },
  lookup: {
    env: { BENCH_LOOKUP_CUSTOMERS: '60', BENCH_LOOKUP_REQUESTS: '40', BENCH_LOOKUP_WARMUP: '5', BENCH_LOOKUP_CONCURRENCY: '4', BENCH_LOOKUP_ROUNDS: '4' },
    figures: ['rate', 'p50_ms', 'baseline_p50_ms', 'p95_ms', 'baseline_p95_ms', 'p99_ms', 'baseline_p99_ms', 'p99_ratio', 'audit_backlog', 'cpu_ms_per_lookup', 'major_gcs', 'baseline_major_gcs'],
  },
};

/**
 * Time allowed for one bench. The lookup bench alone starts a bot, a worker process and a load generator:
 * 81 s on its own on the shared 2-core machine, killed at 110 s in two full-suite runs under load averages
 * of 15-24. ava's own limit is raised to match.
 */
const BENCH_MS = 240_000;

function runBench(name: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...entryArgs('bench/run.ts'), name], {
      cwd: root, timeout: BENCH_MS, maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, MONGODB_URI: requireEnv('MONGODB_URI'), REDIS_URL: requireEnv('REDIS_URL'), ...env },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

for (const [name, { env, figures }] of Object.entries(BENCHES)) {
  test.serial(`bench ${name} runs at a tiny size and ends with its JSON result line`, async (t) => {
    t.timeout(BENCH_MS + 10_000);
    const { code, stdout, stderr } = await runBench(name, env);
    t.is(code, 0, stderr.slice(-2000));
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
    t.is(result.bench, name);
    for (const f of figures) t.not(result[f], undefined, `${name} reports ${f}`);
    t.false('error' in result);
  });
}
