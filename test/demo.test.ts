// `custos demo` from this checkout, as a newcomer runs it: no MONGODB_URI / REDIS_URL, so it starts its
// own redis-server and MongoDB-wire server under a fresh data dir, seeds, and serves the playground.
// The test waits for readiness, performs one lookup over HTTP, stops it with SIGINT and checks that
// everything it started is gone (its process group is empty, the service ports are closed).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { startDemo, until } from './helpers/demo-process.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

test('custos demo reaches a working playground and Ctrl-C stops everything it started', async (t) => {
  const demo = startDemo(t, root, ['demo']);
  const { child, dataDir, exited } = demo;
  const url = await demo.url;
  const ports = [...demo.stderr().matchAll(/(?:redis|mongodb):\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  t.is(ports.length, 2, demo.stderr());
  await until('readiness', 60_000, async () => ((await fetch(new URL('/readyz', url))).status === 200 ? true : undefined));

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
  t.is(await exited, 0, demo.stderr().slice(-2000));
  for (const port of [...ports, Number(new URL(url).port)]) t.false(await portOpen(port), `port ${port} still open`);
  // tsx's esbuild helper notices its parent is gone on its own; give stragglers a moment.
  const group = () => spawnSync('pgrep', ['-a', '-g', String(child.pid)], { encoding: 'utf8' }).stdout.trim();
  const left = await until('the process group to empty', 60_000, () => (group() === '' ? '' : undefined)).catch(() => group());
  t.is(left, '', `processes left in the demo's group: ${left}`);
});
