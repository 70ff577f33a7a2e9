// Fail closed when Redis does not refuse but hangs: a "black hole" that accepts TCP connections and never
// answers (a partition, a stuck proxy). slack-failclosed.test.ts covers a refused connection; here
// every Slack request must still be acknowledged within Slack's 3 s, every lookup refused with the
// audit-unavailable message, and no customer read. Help keeps answering.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { CustomerReader } from '../bot/core/ports.ts';
import { messageText, SlackHarness } from './helpers/slack-bot.ts';

const sockets = new Set<Socket>();
const blackHole: Server = createServer((s) => { sockets.add(s); s.on('error', () => undefined); s.on('close', () => sockets.delete(s)); });
await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
const blackHoleUrl = `redis://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;

let reads = 0;
const counting = (inner: CustomerReader): CustomerReader => ({
  find: (q, scope, limit) => { reads++; return inner.find(q, scope, limit); },
  stream: (scope) => { reads++; return inner.stream(scope); },
});

const h = new SlackHarness(import.meta.url, {
  customers: 20, botRedisUrl: blackHoleUrl, workers: false, overrides: { wrapCustomers: counting },
});

test.before(async () => { await h.start(); });
test.after.always(async () => {
  await h.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
});

const AUDIT_DOWN_ZH = '审计日志暂时不可用，为保护客户数据，本次请求已拒绝。请稍后重试。';

test.serial('the black hole really swallows connections', (t) => {
  t.true(sockets.size > 0, 'the bot connected to it');
});

test.serial('slash commands and DMs are acknowledged within 3 s and refused with the audit-unavailable message; nothing is read', async (t) => {
  const c = (await h.customers.find({ kind: 'id', value: 'C-000001' }, {}, 1))[0]!;
  for (const text of [c.customerId, c.phone ?? c.customerId, c.name]) {
    const started = Date.now();
    const { status, responseUrl } = await h.command(h.userId('supportAgent'), h.dmOf('supportAgent'), text);
    t.is(status, 200);
    t.true(Date.now() - started < 3000, `acknowledged in ${Date.now() - started} ms`);
    t.is(messageText((await h.replyTo(responseUrl)).body), AUDIT_DOWN_ZH);
  }
  const started = Date.now();
  const { status } = await h.event({ type: 'message', userId: h.userId('salesRep'), channelId: h.dmOf('salesRep'), text: c.customerId });
  t.is(status, 200);
  t.true(Date.now() - started < 3000, 'the event is acknowledged in time too');
  const dm = await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep'));
  t.is(messageText(dm.body), AUDIT_DOWN_ZH);
  t.is(reads, 0, 'zero customer reads');
  t.is((await h.allAuditRecords()).length, 0);
});

test.serial('help still answers and /readyz reports Redis down', async (t) => {
  const help = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), 'help');
  t.regex(messageText(help.body), /custos/);
  const ready = await fetch(`${h.bot.url}/readyz`);
  t.is(ready.status, 503);
  t.like(await ready.json(), { checks: { redis: 'failed', database: 'ok' } });
  t.is(reads, 0);
});
