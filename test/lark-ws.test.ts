// Long-connection (LARK_MODE=ws) end to end: the real bot's SDK WSClient asks the fake Lark API for its
// WebSocket URL — at LARK_DOMAIN, not open.feishu.cn — connects to the fake long-connection server
// (test/fakes/lark-ws.ts, Lark's protobuf frames), answers pings, acknowledges every event frame, replies
// to a DM with the same masked card as in HTTP mode, audits it, drops a redelivered event, answers a card
// click through the acknowledgement, and reconnects with a fresh URL when the connection drops. /readyz
// reports the connection, and an app Lark refuses does not start.
import { createServer, type AddressInfo } from 'node:net';
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';
import { principalOf } from '../bot/core/identity.ts';
import '../bot/core/lookup-messages.ts';
import { startLarkBot } from '../bot/lark/runtime.ts';
import { t as tr } from '../bot/core/messages.ts';
import { applyDecision } from '../bot/core/view.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { cardButtons, cardFieldMap, cardText, type SentMessage } from './fakes/lark-api.ts';
import { FakeLarkWs } from './fakes/lark-ws.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { cardAction, eventId, messageEvent } from './helpers/lark-sign.ts';
import { shownValue } from './helpers/shown-value.ts';

const APP_ID = 'cli_a1b2c3d4e5f60718';
const socket = new FakeLarkWs();
const h = new LarkHarness(import.meta.url, { customers: 80, appId: APP_ID, extraEnv: { LARK_MODE: 'ws' } });
const all: Customer[] = [];

test.before(async () => {
  await socket.start();
  h.fake.longConnection(() => socket.endpoint());
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
  await socket.connected();
});
test.after.always(async () => {
  await h.close();
  await socket.stop();
});

/** `text` typed by `key` in their DM, sent over the socket; resolves with the frame's ack and the reply card. */
async function ask(key: DemoEmployeeKey, text: string, opts: { eventId?: string; fragments?: number } = {}): Promise<{ ack: Awaited<ReturnType<FakeLarkWs['ackFor']>>; reply: SentMessage }> {
  const before = h.fake.sent().length;
  const event = messageEvent({ openId: h.openId(key), chatId: h.dm(key), text, ...(opts.eventId ? { eventId: opts.eventId } : {}) });
  const ack = await socket.ackFor(socket.sendEvent(event, opts.fragments));
  const reply = await h.fake.waitFor((m) => m.receiveId === h.dm(key) && h.fake.sent().indexOf(m) >= before);
  return { ack, reply };
}

async function expectedFields(key: DemoEmployeeKey, c: Customer): Promise<Map<string, string>> {
  const e = h.employees[key];
  const policies = await import('../policies/index.ts');
  const decision = await policies.createPolicyEngine(policies.loadPolicy(h.config.policyDir)).decide(principalOf(e), 'lookup', { channel: 'dm', at: h.clock.now() }, c);
  return new Map(applyDecision(c, decision).map((f) => [tr(`field.${f.field}`, e.locale), shownValue(f, e.locale)]));
}

test.serial('the WebSocket URL is asked for at LARK_DOMAIN with the app\'s credentials, and pings are answered', async (t) => {
  const calls = h.fake.callsOf('ws.endpoint');
  t.true(calls.length >= 1, 'the endpoint was called on the fake, i.e. at LARK_DOMAIN');
  t.true(calls.every((c) => c.ok), 'the fake accepted the app id and secret');
  t.is(calls[0]!.body.AppID, APP_ID);
  t.is(socket.connections, 1);
  t.is(socket.refused, 0, 'the client connected with the URL the endpoint issued');
  await socket.pinged();
});

test.serial('a DM over the socket is acknowledged before its answer is sent, answered with the policy\'s masked card, and audited', async (t) => {
  const c = all.find((x) => x.region === 'east' && x.phone)!;
  const { ack, reply } = await ask('supportAgent', c.customerId);
  t.is(ack.code, 200);
  t.true(ack.at <= reply.at, 'acknowledged first, then answered (no millisecond bound: the machine is shared)');
  t.truthy(ack.headers.biz_rt, 'the SDK\'s response frame');
  t.is(reply.msgType, 'interactive');
  t.deepEqual(cardFieldMap(reply.card), await expectedFields('supportAgent', c));
  t.true(cardText(reply.card).includes('审计编号'));
  t.false(JSON.stringify(reply.card).includes(c.phone!), 'the raw phone never reaches the card');
  const records = await h.auditRecords({ 'actor.platform': 'lark', action: 'lookup', customerIds: c.customerId }, 1);
  t.is(records.length, 1);
  t.is((records[0]!.actor as { platformUserId: string }).platformUserId, h.openId('supportAgent'));
  t.is(records[0]!.channelKind, 'dm');
});

test.serial('the same event delivered twice is acknowledged twice and answered once', async (t) => {
  const c = all.find((x) => x.ownerId === h.employees.salesRep.employeeId)!;
  const id = eventId();
  const first = await ask('salesRep', c.customerId, { eventId: id });
  t.is(first.ack.code, 200);
  const before = h.fake.sentTo(h.dm('salesRep')).length;
  const event = messageEvent({ openId: h.openId('salesRep'), chatId: h.dm('salesRep'), text: c.customerId, eventId: id });
  const again = await socket.ackFor(socket.sendEvent(event));
  t.is(again.code, 200, 'a duplicate is acknowledged, so Lark stops redelivering it');
  await h.bot.handlers.drain();
  // Asking for two records waits the full 3 s and returns what is there: the one from the first delivery.
  const records = await h.auditRecords({ 'actor.platform': 'lark', action: 'lookup', customerIds: c.customerId }, 2, 3000);
  t.is(records.length, 1, 'one audit record');
  t.is(h.fake.sentTo(h.dm('salesRep')).length, before, 'no second reply');
});

test.serial('an event Lark splits into fragments is reassembled and answered', async (t) => {
  const c = all.find((x) => x.region === 'east')!;
  const { ack, reply } = await ask('supportAgent', c.customerId, { fragments: 3 });
  t.is(ack.code, 200);
  t.true(cardText(reply.card).startsWith(c.customerId));
});

test.serial('a card click over the socket is answered through the acknowledgement (toast and card)', async (t) => {
  // A two-character fragment of a company name shared by 2–10 customers gives a pick list (support sees everyone).
  let query = '';
  for (const c of all) {
    const chars = Array.from(c.company ?? '');
    for (let i = 0; i + 1 < chars.length && !query; i++) {
      const frag = chars[i]! + chars[i + 1]!;
      const n = all.filter((x) => x.name.includes(frag) || (x.company ?? '').includes(frag)).length;
      if (/^\p{Script=Han}{2}$/u.test(frag) && n >= 2 && n <= 10) query = frag;
    }
    if (query) break;
  }
  const { reply } = await ask('supportAgent', query);
  const picks = cardButtons(reply.card).filter((b) => b.value.a === 'pick');
  t.true(picks.length > 1, 'a pick list');
  const click = cardAction({ openId: h.openId('supportAgent'), value: picks[0]!.value, messageId: reply.messageId, chatId: h.dm('supportAgent') });
  const ack = await socket.ackFor(socket.sendEvent(click));
  t.is(ack.code, 200);
  const answer = ack.data as { toast?: { type: string }; card?: { data: Record<string, unknown> } };
  t.is(answer.toast?.type, 'success');
  t.true(cardText(answer.card!.data).startsWith(picks[0]!.value.c!));
  t.deepEqual(cardFieldMap(answer.card!.data), await expectedFields('supportAgent', all.find((c) => c.customerId === picks[0]!.value.c)!));
});

test.serial('when the connection drops, the bot asks for a fresh URL, reconnects and keeps answering', async (t) => {
  const endpointCalls = h.fake.callsOf('ws.endpoint').length;
  socket.drop();
  await socket.connected(2, 60_000);
  t.true(h.fake.callsOf('ws.endpoint').length > endpointCalls, 'a fresh URL was asked for');
  t.is(socket.refused, 0);
  const c = all.find((x) => x.ownerId === h.employees.salesRep.employeeId)!;
  const { ack, reply } = await ask('salesRep', c.customerId);
  t.is(ack.code, 200);
  t.true(cardText(reply.card).startsWith(c.customerId));
});

/** Polls /readyz until its status is `status`; returns the last body. */
async function readyz(status: number, timeoutMs = 60_000): Promise<{ checks: Record<string, string> }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${h.bot.url}/readyz`);
    const body = await res.json() as { checks: Record<string, string> };
    if (res.status === status || Date.now() > until) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.serial('/readyz reports the connection: not ready while Lark is unreachable, ready once reconnected', async (t) => {
  t.is((await readyz(200)).checks['lark-connection'], 'ok');
  const before = socket.connections;
  socket.unavailable = true;
  socket.drop();
  t.is((await readyz(503)).checks['lark-connection'], 'failed');
  socket.unavailable = false;
  await socket.connected(before + 1, 60_000);
  t.is((await readyz(200)).checks['lark-connection'], 'ok');
});

test.serial('a bot whose app secret Lark refuses does not start, and says which settings to check', async (t) => {
  const config = { ...h.config, lark: { ...h.config.lark!, appSecret: 'not-the-secret', httpPort: 0 } };
  const err = await t.throwsAsync(startLarkBot(config, h.logger, { clock: h.clock }));
  t.true(isCustosError(err, ErrorCode.ConfigInvalid));
  t.regex(err.message, /LARK_APP_SECRET/);
  t.false(err.message.includes('auth failed'), 'not the SDK\'s text');
  t.true(h.fake.callsOf('ws.endpoint').some((c) => c.code === 514), 'the endpoint refused the secret');
});

test.serial('while Lark is unreachable at start-up the bot is alive (/healthz) and not ready (/readyz), then starts', async (t) => {
  const port = await freePort();
  socket.unavailable = true;
  const config = { ...h.config, lark: { ...h.config.lark!, httpPort: port } };
  const starting = startLarkBot(config, h.logger, { clock: h.clock });
  starting.catch(() => undefined); // awaited below
  const base = `http://127.0.0.1:${port}`;
  const health = await poll(() => fetch(`${base}/healthz`).then((r) => r.status, () => 0), (s) => s === 200);
  t.is(health, 200, '/healthz answers while the long connection is not up');
  const ready = await fetch(`${base}/readyz`);
  t.is(ready.status, 503);
  t.is(((await ready.json()) as { checks: Record<string, string> }).checks['lark-connection'], 'failed');
  socket.unavailable = false;
  const bot = await starting;
  try {
    t.is((await fetch(`${base}/readyz`)).status, 200, 'ready once connected');
  } finally {
    await bot.close();
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function poll<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
