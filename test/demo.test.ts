// `custos demo` from this checkout, as a newcomer runs it: no MONGODB_URI / REDIS_URL, so it starts its
// own redis-server and MongoDB-wire server under a fresh data dir, seeds, and serves the playground.
// The test waits for readiness, performs one lookup over HTTP, stops it with SIGINT and checks that
// everything it started is gone (its process group is empty, the service ports are closed).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { custosArgs } from './helpers/run-custos.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('custos demo reaches a working playground and Ctrl-C stops everything it started', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'custos-demo-test-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' };
  // Its own process group, so that the test can check that nothing of it survives.
  const child = spawn(process.execPath, custosArgs(['demo', '--data-dir', dataDir, '--port', '0', '--customers', '40']),
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ } });

  const url = await until('the playground URL', 120_000, () => /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1]);
  const ports = [...stderr.matchAll(/(?:redis|mongodb):\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  t.is(ports.length, 2, stderr);
  await until('readiness', 30_000, async () => ((await fetch(new URL('/readyz', url))).status === 200 ? true : undefined));

  // Keys were generated into the data dir, readable by the owner only.
  const keys = path.join(dataDir, 'demo-keys.env');
  t.true(existsSync(keys));
  t.is(statSync(keys).mode & 0o077, 0);
  t.regex(readFileSync(keys, 'utf8'), /^CUSTOS_AUDIT_SIGNING_KEY=/m);

  // One lookup over HTTP, as the page's script does it. Support works 24/7, so any time of day will do.
  const agent = demoEmployee('supportAgent');
  const res = await fetch(new URL('/playground/api/message', url), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId: agent.employeeId, text: 'C-000003' }),
  });
  t.is(res.status, 200);
  const answer = await res.json() as { replies: { kind: string; html: string }[] };
  t.is(answer.replies[0]?.kind, 'card', JSON.stringify(answer));
  t.true(answer.replies[0]!.html.includes('data-customer-id="C-000003"'));

  process.kill(child.pid!, 'SIGINT');
  t.is(await exited, 0, stderr.slice(-2000));
  for (const port of [...ports, Number(new URL(url).port)]) t.false(await portOpen(port), `port ${port} still open`);
  // tsx's esbuild helper notices its parent is gone on its own; give stragglers a moment.
  const group = () => spawnSync('pgrep', ['-a', '-g', String(child.pid)], { encoding: 'utf8' }).stdout.trim();
  const left = await until('the process group to empty', 5000, () => (group() === '' ? '' : undefined)).catch(() => group());
  t.is(left, '', `processes left in the demo's group: ${left}`);
});
