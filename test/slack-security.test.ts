// Request authenticity and delivery semantics at the bot's real HTTP endpoint: forged requests of every
// kind are refused with 401 and leave no trace; the timestamp window is enforced on both sides; a
// retried event is answered once and audited once, whatever retry headers it carries.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { Queue } from 'bullmq';
import type { Customer } from '../bot/core/domain.ts';
import { correlationIdOf } from '../bot/slack/handlers.ts';
import { messageText, SlackHarness } from './helpers/slack-bot.ts';
import { blockActionBody, eventBody, FORM, JSON_TYPE, nowSeconds, post, sign, signature, slashCommandBody, type SignedRequest } from './helpers/slack-sign.ts';
import { testRedis } from './helpers/services.ts';

const h = new SlackHarness(import.meta.url, { customers: 60 });
let customer: Customer;
let queue: Queue;
const queueRedis = testRedis();

test.before(async () => {
  await h.start();
  customer = (await h.customers.find({ kind: 'id', value: 'C-000002' }, {}, 1))[0]!;
  queue = new Queue('audit', { connection: queueRedis, prefix: h.prefix });
});
test.after.always(async () => { await queue?.close(); queueRedis.disconnect(); await h.close(); });

const SECRET = 'test-signing-secret-0123456789abcdef';

async function auditJobs(): Promise<number> {
  const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function dedupeKeys(): Promise<number> {
  const r = testRedis();
  try { return (await r.keys(`${h.prefix}:slack-dedupe:*`)).length; } finally { r.disconnect(); }
}

/** A genuine-looking request (valid body for some user), then forged in one of several ways. */
function forged(i: number): { req: SignedRequest; how: string } {
  const userId = h.userId('salesRep');
  const bodies: [string, string][] = [
    [slashCommandBody({ text: customer.customerId, userId, channelId: h.dmOf('salesRep'), responseUrl: h.fake.responseUrl() }), FORM],
    [eventBody({ type: 'message', userId, channelId: h.dmOf('salesRep'), text: customer.customerId }), JSON_TYPE],
    [blockActionBody({ userId, channelId: h.dmOf('salesRep'), actionId: 'customer_pick', value: customer.customerId, responseUrl: h.fake.responseUrl() }), FORM],
  ];
  const [raw, type] = bodies[i % bodies.length]!;
  const now = nowSeconds();
  switch (i % 7) {
    case 0: return { how: 'bad signature', req: { body: raw, headers: { 'content-type': type, 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${randomBytes(32).toString('hex')}` } } };
    // At least 330 s off: a batch may reach the bot seconds after `now` was read on a loaded machine.
    case 1: return { how: 'stale timestamp', req: sign(SECRET, raw, type, now - 330 - (i % 5000)) };
    case 2: return { how: 'future timestamp', req: sign(SECRET, raw, type, now + 330 + (i % 5000)) };
    case 3: {
      // Signed, then one byte changed in transit.
      const s = sign(SECRET, raw, type, now);
      const at = i % raw.length;
      const swapped = raw.charAt(at) === 'A' ? 'B' : 'A';
      return { how: 'tampered body', req: { ...s, body: raw.slice(0, at) + swapped + raw.slice(at + 1) } };
    }
    case 4: return { how: 'wrong secret', req: sign('someone-elses-secret-0123456789', raw, type, now) };
    case 5: return { how: 'missing signature', req: { body: raw, headers: { 'content-type': type, 'x-slack-request-timestamp': String(now) } } };
    default: return { how: 'v1 signature', req: { body: raw, headers: { 'content-type': type, 'x-slack-request-timestamp': String(now), 'x-slack-signature': signature(SECRET, now, raw).replace('v0=', 'v1=') } } };
  }
}

test.serial('1,000 mixed forged requests: 401 each, no Slack API call, no audit job or event, no dedupe key', async (t) => {
  const callsBefore = h.fake.calls.length;
  const jobsBefore = await auditJobs();
  const recordsBefore = (await h.allAuditRecords()).length;
  const statuses = new Map<string, number[]>();
  const N = 1050;
  for (let start = 0; start < N; start += 25) {
    const batch = Array.from({ length: Math.min(25, N - start) }, (_, k) => forged(start + k));
    const results = await Promise.all(batch.map(async (f) => ({ how: f.how, status: (await post(h.eventsUrl, f.req)).status })));
    for (const r of results) statuses.set(r.how, [...(statuses.get(r.how) ?? []), r.status]);
  }
  t.is([...statuses.values()].flat().length, N);
  for (const [how, list] of statuses) t.true(list.every((s) => s === 401), `${how}: all 401 (${list.length})`);
  t.is(statuses.size, 7, 'every kind of forgery was tried');
  await new Promise((r) => setTimeout(r, 1000)); // anything that slipped through would show by now
  t.deepEqual(h.fake.calls.slice(callsBefore).map((c) => c.method), [], 'no call to the Slack API');
  t.is(await auditJobs(), jobsBefore, 'no audit job');
  t.is((await h.allAuditRecords()).length, recordsBefore, 'no audit event');
  t.is(await dedupeKeys(), 0, 'not even a dedupe key');
});

// Ten seconds either side of the 300 s edge: the request reaches the bot a moment after it was signed.
test.serial('the timestamp window is ±300 s: 290 s old or ahead is accepted, 310 s either way is not', async (t) => {
  for (const [offset, expected] of [[-290, 200], [290, 200], [-310, 401], [310, 401]] as const) {
    const raw = slashCommandBody({ text: 'help', userId: h.userId('salesRep'), channelId: h.dmOf('salesRep'), responseUrl: h.fake.responseUrl() });
    const res = await post(h.eventsUrl, sign(SECRET, raw, FORM, nowSeconds() + offset));
    t.is(res.status, expected, `offset ${offset}`);
  }
});

test.serial('the same event delivered four times (retries 1–3, some concurrent) gives one reply and one audit event', async (t) => {
  const eventId = `Ev${randomBytes(5).toString('hex').toUpperCase()}`;
  const raw = eventBody({ type: 'message', userId: h.userId('supportAgent'), channelId: h.dmOf('supportAgent'), text: customer.customerId, eventId });
  const send = (retry: number | undefined) => post(h.eventsUrl, sign(SECRET, raw, JSON_TYPE, undefined,
    retry === undefined ? {} : { 'x-slack-retry-num': String(retry), 'x-slack-retry-reason': 'http_timeout' }));
  const first = await send(undefined);
  const [r1, r2] = await Promise.all([send(1), send(2)]);
  const r3 = await send(3);
  for (const r of [first, r1, r2, r3]) t.is(r.status, 200, 'every delivery is acknowledged');
  const reply = await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === h.dmOf('supportAgent'));
  t.true(messageText(reply.body).includes(customer.customerId));
  const employeeId = h.employees.supportAgent.employeeId;
  const shown = await h.auditRecords({ 'actor.employeeId': employeeId, 'meta.stage': 'shown' });
  await new Promise((r) => setTimeout(r, 1500));
  t.is(h.fake.callsTo('chat.postMessage').filter((c) => c.body.channel === h.dmOf('supportAgent')).length, 1, 'one reply');
  t.is((await h.auditRecords({ 'actor.employeeId': employeeId, 'meta.stage': 'shown' })).length, 1, 'one shown event');
  t.is((await h.auditRecords({ 'actor.employeeId': employeeId, 'meta.stage': 'query' })).length, 1, 'one query event');
  t.deepEqual(shown[0]!.customerIds, [customer.customerId]);
});

test.serial('a retry is processed when it is the only delivery that arrived', async (t) => {
  // The first attempt never reached us (connection_failed): the retry must not be dropped for its header.
  const raw = eventBody({ type: 'message', userId: h.userId('financeClerk'), channelId: h.dmOf('financeClerk'), text: customer.customerId });
  const res = await post(h.eventsUrl, sign(SECRET, raw, JSON_TYPE, undefined, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'connection_failed' }));
  t.is(res.status, 200);
  const reply = await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === h.dmOf('financeClerk'));
  t.true(messageText(reply.body).includes(customer.customerId));
});

test.serial('a replayed slash command (same trigger_id) is answered once', async (t) => {
  const triggerId = `${Date.now()}.42.${randomBytes(8).toString('hex')}`;
  const first = await h.command(h.userId('legalCounsel'), h.dmOf('legalCounsel'), customer.customerId, { triggerId });
  const again = await h.command(h.userId('legalCounsel'), h.dmOf('legalCounsel'), customer.customerId, { triggerId });
  t.is(first.status, 200);
  t.is(again.status, 200);
  await h.replyTo(first.responseUrl);
  await t.throwsAsync(h.replyTo(again.responseUrl, 1500), undefined, 'no second reply');
});

test.serial('a slash command replayed after its answer is dropped: the ledger\'s closed mark, not the dedupe key, tells', async (t) => {
  // The dedupe check is skipped for a command the answer ledger opened (pending.ts): what keeps a replay
  // of an answered command from a second answer is the entry's closed mark.
  const triggerId = `${Date.now()}.43.${randomBytes(8).toString('hex')}`;
  const first = await h.command(h.userId('legalCounsel'), h.dmOf('legalCounsel'), customer.customerId, { triggerId });
  await h.replyTo(first.responseUrl);
  const replays = [];
  for (let i = 0; i < 3; i++) replays.push(await h.command(h.userId('legalCounsel'), h.dmOf('legalCounsel'), customer.customerId, { triggerId }));
  t.deepEqual(replays.map((r) => r.status), [200, 200, 200]);
  for (const r of replays) await t.throwsAsync(h.replyTo(r.responseUrl, 500), undefined, 'no second reply');
});

test.serial('any schedule of copies of one slash command (with the first, or after its answer) gives one reply and one shown event', async (t) => {
  // The ledger's OPEN tells a copy while the command is open and, by its closed mark, after its answer;
  // the dedupe SET is skipped once OPEN confirmed the first (pending.ts). Generated schedules, so the
  // copies land before, during and after the answer in every order fast-check tries.
  const employeeId = h.employees.legalCounsel.employeeId;
  const seen = new Set<string>();
  await fc.assert(fc.asyncProperty(fc.array(fc.constantFrom('with-first', 'after-answer'), { minLength: 1, maxLength: 4 }), async (copies) => {
    copies.forEach((c) => seen.add(c));
    const triggerId = `${Date.now()}.44.${randomBytes(8).toString('hex')}`;
    const send = () => h.command(h.userId('legalCounsel'), h.dmOf('legalCounsel'), customer.customerId, { triggerId });
    const early = await Promise.all([send(), ...copies.filter((c) => c === 'with-first').map(send)]);
    const paths = new Set(early.map((r) => new URL(r.responseUrl).pathname));
    await h.fake.waitFor((c) => c.method === 'response_url' && paths.has(c.path));
    for (let i = copies.filter((x) => x === 'after-answer').length; i > 0; i--) paths.add(new URL((await send()).responseUrl).pathname);
    const correlationId = correlationIdOf(triggerId);
    await h.auditRecords({ correlationId, 'actor.employeeId': employeeId, 'meta.stage': 'shown' });
    await new Promise((r) => setTimeout(r, 400));
    const replies = h.fake.calls.filter((c) => c.method === 'response_url' && paths.has(c.path));
    const shown = await h.auditRecords({ correlationId, 'actor.employeeId': employeeId, 'meta.stage': 'shown' });
    return replies.length === 1 && shown.length === 1;
  }), { numRuns: 8 });
  t.deepEqual([...seen].sort(), ['after-answer', 'with-first'], 'the schedules held copies of both kinds');
});

test.serial('the slash command is acknowledged at once; the card follows through the response URL', async (t) => {
  const { status, body, responseUrl } = await h.command(h.userId('supportAgent'), h.dmOf('supportAgent'), customer.customerId);
  t.is(status, 200);
  t.is(body, '', 'empty ack: the answer comes through response_url');
  t.true(messageText((await h.replyTo(responseUrl)).body).includes(customer.customerId));
});

test.serial('url_verification is answered; unknown paths and malformed bodies are not processed', async (t) => {
  const raw = JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'x' });
  const res = await post(h.eventsUrl, sign(SECRET, raw, JSON_TYPE));
  t.deepEqual(JSON.parse(res.text), { challenge: 'abc123' });
  t.is((await post(h.eventsUrl, sign(SECRET, '{not json', JSON_TYPE))).status, 400);
  t.is((await fetch(`${h.bot.url}/nowhere`)).status, 404);
  t.is((await fetch(h.eventsUrl)).status, 405);
});
