// A Lark message survives the bot that acknowledged it (bot/lark/pending.ts): a replica started as a
// real `custos start` process acknowledges a DM, looks the customer up (its audit event recorded), and is
// SIGKILLed while its answer is on the way (the fake Lark API holds that send, a network that loses it).
// The in-process bot — another replica on the same Redis and database — claims the entry once its lease
// ends and answers through the Lark API: one reply, the same audit events a normal answer records, none
// twice. Redeliveries of the message, while the victim holds it and after the answer, are not answered.
import test from 'ava';
import { systemClock } from '../bot/core/ports.ts';
import { correlationIdOf } from '../bot/lark/handlers.ts';
import { cardText } from './fakes/lark-api.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { messageEvent, post, signed } from './helpers/lark-sign.ts';
import { startCustosReady } from './helpers/run-custos.ts';
import { redisDump, testRedis } from './helpers/services.ts';

// Both replicas read the real clock: the ledger's leases are in the callers' time.
const h = new LarkHarness(import.meta.url, {
  customers: 20, clock: systemClock, extraEnv: { CUSTOS_ANSWER_LEASE_MS: '3000', CUSTOS_ANSWER_CLAIM_MS: '200' },
});

test.before(async () => { await h.start(); });
test.after.always(() => h.close());

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function eventIdOf(event: Record<string, unknown>): string {
  return String((event.header as { event_id: string }).event_id);
}

/** The audit actions recorded for one request (its correlation id), sorted. */
async function auditOf(event: Record<string, unknown>): Promise<string[]> {
  const id = correlationIdOf(eventIdOf(event));
  const docs = await h.conn.collection('audit_events').find({ correlationId: id }).toArray();
  return docs.map((d) => String(d.action)).sort();
}

test.serial('a bot killed between the ack and the answer: another replica answers once, with one set of audit events; redeliveries are not answered again', async (t) => {
  t.timeout(400_000);
  const dm = h.dm('supportAgent');
  const asked = messageEvent({ openId: h.openId('supportAgent'), chatId: dm, text: 'C-000001' });
  const victim = await startCustosReady(h.env, 'LARK_HTTP_PORT');
  h.fake.holdNext('im.message.create');
  try {
    t.is((await post(`${victim.base}/lark/events`, signed(asked))).status, 200, 'the victim acknowledged the message');
    await until('the victim to send its answer', () => h.fake.held.length === 1);
    const recorded = await h.auditRecords({ action: 'lookup', customerIds: 'C-000001' });
    t.is(recorded.length, 1, 'the victim recorded its lookup before answering');
    // The entry is in Lark's own ledger, sealed: neither the typed words nor the chat are readable in Redis.
    const redis = testRedis();
    const ledger = (await redis.keys(`${h.prefix}:{answers}:*`).finally(() => redis.disconnect())).sort();
    t.deepEqual(ledger.map((k) => k.slice(h.prefix.length)), [':{answers}:lark:due', `:{answers}:lark:e:${correlationIdOf(eventIdOf(asked))}`]);
    const dump = (await redisDump(`${h.prefix}:{answers}`)).text;
    t.false(dump.includes('C-000001') || dump.includes(dm), 'sealed');
    // Redelivered to the live bot while the victim holds it: dropped.
    t.is((await h.push(asked)).status, 200);
  } finally {
    victim.child.kill('SIGKILL');
  }
  await victim.exited;

  const reply = await h.fake.waitFor((m) => m.receiveId === dm, 120_000);
  t.true(cardText(reply.card).startsWith('C-000001'), 'the live bot answered with the customer card');
  t.true(h.logLines.some((l) => l.includes('finishing a request whose bot stopped')), 'through the ledger');
  // Redelivered after the answer: dropped as well.
  t.is((await h.push(asked)).status, 200);
  t.deepEqual(h.handlerCalls.filter((c) => c === 'im.message.receive_v1'), [], 'the live bot took no redelivery as a new message');
  t.is(h.logLines.filter((l) => l.includes('duplicate delivery dropped')).length, 2);

  // A normal answer by the live bot: the audit events one answer records. It is also the marker that the
  // audit queue has drained past the killed request's events (the worker stores them in order).
  const normal = messageEvent({ openId: h.openId('supportAgent'), chatId: dm, text: 'C-000002' });
  t.is((await h.push(normal)).status, 200);
  await h.fake.waitFor((m) => m.receiveId === dm && cardText(m.card).startsWith('C-000002'), 120_000);
  // Its last event (the card shown) stored: the ones before it are too.
  await h.auditRecords({ action: 'lookup', customerIds: 'C-000002' });
  const [killed, control] = [await auditOf(asked), await auditOf(normal)];
  // Had the finishing replica's events fresh ids, the query and shown events would be there twice.
  t.deepEqual(killed, ['lookup', 'lookup'], 'the lookup\'s query and shown events, once each');
  t.deepEqual(killed, control, 'what one answer records');
  t.is(h.fake.sentTo(dm).filter((m) => cardText(m.card).startsWith('C-000001')).length, 1, 'answered exactly once');
  t.is(await h.conn.collection('audit_events').countDocuments({ action: 'lookup', customerIds: 'C-000001' }), 1, 'one lookup recorded');
});
