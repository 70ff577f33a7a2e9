// Fail closed when Redis does not refuse but hangs: a "black hole" that accepts TCP connections and never
// answers (a partition, a stuck proxy). slack-failclosed.test.ts covers a refused connection; here
// every Slack request must still be acknowledged before its work (Slack's 3 s: the receiver's watchdog),
// every lookup refused with the audit-unavailable message, and no customer read. Help keeps answering.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { CustomerReader } from '../bot/core/ports.ts';
import { AckLog, messageText, SlackHarness } from './helpers/slack-bot.ts';

const sockets = new Set<Socket>();
const blackHole: Server = createServer((s) => { sockets.add(s); s.on('error', () => undefined); s.on('close', () => sockets.delete(s)); });
await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
const blackHoleUrl = `redis://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;

let reads = 0;
const counting = (inner: CustomerReader): CustomerReader => ({
  find: (q, scope, limit) => { reads++; return inner.find(q, scope, limit); },
  stream: (scope) => { reads++; return inner.stream(scope); },
});

const acks = new AckLog(() => h.fake.calls);
const h: SlackHarness = new SlackHarness(import.meta.url, {
  customers: 20, botRedisUrl: blackHoleUrl, workers: false, overrides: { wrapCustomers: counting, onSlackAck: acks.onSlackAck },
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

test.serial('slash commands and DMs are acknowledged before any work and refused with the audit-unavailable message; nothing is read', async (t) => {
  const c = (await h.customers.find({ kind: 'id', value: 'C-000001' }, {}, 1))[0]!;
  for (const text of [c.customerId, c.phone ?? c.customerId, c.name]) {
    const ackIndex = acks.count;
    const { status, responseUrl } = await h.command(h.userId('supportAgent'), h.dmOf('supportAgent'), text);
    t.is(status, 200);
    const reply = await h.replyTo(responseUrl);
    t.is(messageText(reply.body), AUDIT_DOWN_ZH);
    t.deepEqual(acks.ackedFirst(ackIndex, reply), { status: 200, first: true }, 'acknowledged before the refusal was sent');
  }
  const ackIndex = acks.count;
  const { status } = await h.event({ type: 'message', userId: h.userId('salesRep'), channelId: h.dmOf('salesRep'), text: c.customerId });
  t.is(status, 200);
  const dm = await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep'));
  t.is(messageText(dm.body), AUDIT_DOWN_ZH);
  t.deepEqual(acks.ackedFirst(ackIndex, dm), { status: 200, first: true }, 'the event is acknowledged before its refusal too');
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
