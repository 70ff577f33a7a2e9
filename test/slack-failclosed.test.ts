// Fail closed: with Redis unreachable the audit log cannot accept events, so every lookup is refused
// with the audit-unavailable message and NO customer is read (a counting reader proves it); help and
// /healthz keep working, /readyz says what is down. The database is up throughout.
import test from 'ava';
import type { CustomerReader } from '../bot/core/ports.ts';
import { AckLog, messageText, PUBLIC_CHANNEL, SlackHarness } from './helpers/slack-bot.ts';

let reads = 0;
const counting = (inner: CustomerReader): CustomerReader => ({
  find: (q, scope, limit) => { reads++; return inner.find(q, scope, limit); },
  stream: (scope) => { reads++; return inner.stream(scope); },
});

// Port 1 on loopback: nothing listens there, connections are refused at once.
const acks = new AckLog(() => h.fake.calls);
const h: SlackHarness = new SlackHarness(import.meta.url, {
  customers: 40, botRedisUrl: 'redis://127.0.0.1:1', workers: false, publicMembers: ['salesRep'],
  overrides: { wrapCustomers: counting, onSlackAck: acks.onSlackAck },
});

test.before(async () => { await h.start(); });
test.after.always(async () => { await h.close(); });

const AUDIT_DOWN_ZH = '审计日志暂时不可用，为保护客户数据，本次请求已拒绝。请稍后重试。';
const AUDIT_DOWN_EN = 'The audit log is unavailable, so this request was refused to protect customer data. Please try again shortly.';

test.serial('every lookup is refused with the audit-unavailable message and no customer is read', async (t) => {
  const c = (await h.customers.find({ kind: 'id', value: 'C-000001' }, {}, 1))[0]!;
  const asks: [Parameters<typeof h.userId>[0], string, string][] = [
    ['salesRep', h.dmOf('salesRep'), c.customerId],
    ['supportAgent', h.dmOf('supportAgent'), c.phone ?? c.customerId],
    ['financeClerk', h.dmOf('financeClerk'), c.email ?? c.customerId],
    ['legalCounsel', h.dmOf('legalCounsel'), c.name],
    ['salesRep', PUBLIC_CHANNEL, c.customerId],
  ];
  for (const [key, channel, text] of asks) {
    const ackIndex = acks.count;
    const { status, responseUrl } = await h.command(h.userId(key), channel, text);
    t.is(status, 200, 'acknowledged even with Redis down');
    const reply = await h.replyTo(responseUrl);
    t.is(messageText(reply.body), AUDIT_DOWN_ZH, `${key}: refusal`);
    t.deepEqual(acks.ackedFirst(ackIndex, reply), { status: 200, first: true }, `${key}: acknowledged before the refusal was sent`);
  }
  const en = await h.ask(h.userId('supportAgentEn'), h.dmOf('supportAgentEn'), c.customerId);
  t.is(messageText(en.body), AUDIT_DOWN_EN);
  t.is(reads, 0, 'zero customer reads');
  // The DM path (events) is refused the same way.
  await h.event({ type: 'message', userId: h.userId('ordersClerk'), channelId: h.dmOf('ordersClerk'), text: c.customerId });
  const dm = await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('ordersClerk'));
  t.is(messageText(dm.body), AUDIT_DOWN_ZH);
  t.is(reads, 0, 'still zero customer reads');
  t.is((await h.allAuditRecords()).length, 0);
});

test.serial('help still answers, /healthz is up and /readyz names what is down', async (t) => {
  const help = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), '帮助');
  t.regex(messageText(help.body), /custos 客户查询帮助/);
  const usage = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), '{"$ne":1}');
  t.regex(messageText(usage.body), /无法理解该查询.*用法/);
  t.is((await fetch(`${h.bot.url}/healthz`)).status, 200);
  const ready = await fetch(`${h.bot.url}/readyz`);
  t.is(ready.status, 503);
  t.deepEqual(await ready.json(), { status: 'not ready', checks: { redis: 'failed', database: 'ok', queue: 'failed' } });
  t.is(reads, 0);
});
