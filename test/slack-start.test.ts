// `custos start` as an operator runs it: bot and workers in one process, or `--only bot`; /healthz and
// /readyz on the bot's port; a signed /customer answered and audited; SIGTERM stops it cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { FieldCipher } from '../bot/store/crypto.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { seedDemo } from '../bot/store/seed.ts';
import { loadConfig } from '../bot/config.ts';
import { FakeSlackApi } from './fakes/slack-api.ts';
import { messageText } from './helpers/slack-bot.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';
import { FORM, post, sign, slashCommandBody } from './helpers/slack-sign.ts';
import { custosArgs, freePort } from './helpers/run-custos.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'start-test-signing-secret-0123456789';
const db = await testDatabase(import.meta.url);
const prefix = uniqueName(import.meta.url, 'prefix');
// Support works around the clock (no working-hours rule), so the answer does not depend on today's date.
const rep = demoEmployee('supportAgent');
const fake = new FakeSlackApi({ users: [{ id: 'UREP', email: rep.email, locale: 'zh-CN' }], channels: [{ id: 'DREP', isIm: true, members: ['UREP', 'UBOT'] }] });
let env: NodeJS.ProcessEnv;

test.before(async () => {
  await fake.start();
  env = testEnv(db.name, prefix, { SLACK_BOT_TOKEN: fake.token, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: fake.apiUrl, SLACK_API_RETRIES: '0' });
  const config = loadConfig(env, { require: ['mongo', 'crypto'] });
  await seedDemo(db.conn, new FieldCipher(config.crypto!), { customers: 20, seed: 'start' });
  await new EmployeeStore(db.conn).bindChatId(rep.employeeId, 'slack', 'UREP');
});
test.after.always(async () => { await fake.stop(); await db.drop(); await dropPrefix(prefix); });

async function until<T>(fn: () => Promise<T | undefined>, ms = 180_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startCustos(args: string[], port: number): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, custosArgs(['start', ...args]), {
    cwd: root, env: { PATH: process.env.PATH, ...env, HTTP_PORT: String(port), LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, stderr: () => err };
}

async function lookupThrough(port: number): Promise<string> {
  const responseUrl = fake.responseUrl();
  const raw = slashCommandBody({ text: 'C-000001', userId: 'UREP', channelId: 'DREP', responseUrl });
  const res = await post(`http://127.0.0.1:${port}/slack/events`, sign(SECRET, raw, FORM));
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  const reply = await fake.waitFor((c) => c.method === 'response_url' && c.path === new URL(responseUrl).pathname, 60_000);
  return messageText(reply.body);
}

test.serial('custos start runs bot and workers: ready, answers and audits a lookup, stops on SIGTERM', async (t) => {
  const port = await freePort();
  const run = startCustos([], port);
  t.teardown(() => { run.child.kill('SIGKILL'); });
  const ready = await until(async () => {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    return r.status === 200 ? r.json() : undefined;
  });
  t.deepEqual(ready, { status: 'ready', checks: { redis: 'ok', database: 'ok', queue: 'ok' } });
  t.is((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  t.regex(await lookupThrough(port), /C-000001 · /);
  const stored = await until(async () => ((await db.conn.collection('audit_events').countDocuments({ 'meta.stage': 'shown' })) >= 1 ? true : undefined));
  t.true(stored, 'the worker in the same process stored the audit event');
  run.child.kill('SIGTERM');
  t.is(await run.exited, 0, 'clean exit on SIGTERM');
  t.regex(run.stderr(), /shutting down/);
});

test.serial('custos start --only bot runs the bot alone', async (t) => {
  const port = await freePort();
  const run = startCustos(['--only', 'bot'], port);
  t.teardown(() => { run.child.kill('SIGKILL'); });
  await until(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined));
  t.regex(await lookupThrough(port), /C-000001 · /);
  t.regex(run.stderr(), /"components":\["bot"\]/);
  run.child.kill('SIGTERM');
  t.is(await run.exited, 0);
});
