// The newcomer's wait: seconds from `custos demo` to the first answered lookup, on a fresh data dir
// (services started, demo company seeded) and again on the same data dir (the restart skips the seed),
// next to `custos seed --demo` alone in the same run, at the same size. The demo starts its own services
// (MONGODB_URI / REDIS_URL are not passed to it), as on a fresh clone. A restart should never be slower
// than a first start: restart_ratio = restart_s / first_s. Last line:
// {"bench":"demo","first_s":…,"restart_s":…,"seed_s":…,"restart_ratio":…,"customers":N}
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { now, report, requireEnv, round } from './lib.ts';
import { runnable } from './processes.ts';

// `custos` runs the way this bench runs: from the sources with tsx (`npm run bench`), or compiled when
// the bench is (the bench smoke test), sparing a tsx start per process; both the demo and the seed run the
// same way, so the figures compare like with like. The compiled demo finds its services script by walking
// up to the checkout (bot/cli/commands/demo.ts). `npm run bench` and the smoke test both run from the
// repository root.
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = here.includes(`${path.sep}.test-artifacts${path.sep}`) ? process.cwd() : here;
const CUSTOMERS = Number(process.env.BENCH_DEMO_CUSTOMERS ?? 500);
const AT = '2026-06-30T10:30+08:00'; // inside Shanghai working hours, whatever the hour of the run
const cli = runnable('../bot/cli/main.ts', import.meta.url);
const custos = (...args: string[]) => [...cli.execArgv, cli.file, ...args];

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...extra };
}

/** Starts the demo, waits for the first lookup to be answered with a card, stops it; returns seconds. */
async function demoToFirstLookup(dataDir: string): Promise<number> {
  const t0 = now();
  const child = spawn(process.execPath, custos('demo', '--data-dir', dataDir, '--port', '0', '--customers', String(CUSTOMERS), '--at', AT),
    { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); process.stderr.write(d); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    for (;;) {
      const url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1];
      if (url) {
        const res = await fetch(new URL('/playground/api/message', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId: 'E-0012', text: 'C-000001' }) }).catch(() => null);
        const answer = res?.ok ? await res.json() as { replies?: { kind: string }[] } : null;
        if (answer?.replies?.[0]?.kind === 'card') return (now() - t0) / 1000;
      }
      if (child.exitCode !== null) throw new Error(`custos demo exited ${child.exitCode}: ${stderr.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}

async function seedAlone(): Promise<number> {
  const k = () => randomBytes(32).toString('base64');
  const env = cleanEnv({
    MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: `bench_demo_seed_${randomBytes(4).toString('hex')}`,
    CUSTOS_DATA_KEYS: `k1:${k()}`, CUSTOS_BLIND_INDEX_KEY: k(),
  });
  const t0 = now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, custos('seed', '--demo', '--customers', String(CUSTOMERS)), { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`custos seed --demo exited ${code}`);
  return (now() - t0) / 1000;
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-demo-'));
try {
  const first = await demoToFirstLookup(dataDir);
  const restart = await demoToFirstLookup(dataDir);
  const seed = await seedAlone();
  report({ bench: 'demo', first_s: round(first), restart_s: round(restart), seed_s: round(seed), restart_ratio: round(restart / first, 3), customers: CUSTOMERS });
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
