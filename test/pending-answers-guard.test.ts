// The reply guard of a pending answer (bot/runtime/pending-answers.ts) on the real Redis, with two
// replicas whose clocks are apart: a replica whose clock stands still is one stalled by load (its
// heartbeat renews only to its own now), the other's runs past the lease and claims. Each send is
// counted: what a user would receive. Races the model test (answer-ledger-model) drives on the ledger
// alone, here through the guard: a holder stalled past its lease after marking its reply (the claimer
// sends nothing on Slack; on Lark it sends again under the same uuid), one fenced off before its reply
// (it sends nothing), a reply mark that cannot reach Redis (no send; the claimer answers), and a claimed
// answer that hangs (the others claimed with it are answered meanwhile); and the reply mark skipped when
// the answer closes its entry right after its reply. And an opening whose answer never came: it ran (the
// server held it past the client's timeout), it had not run yet (it lands after the reply), or a claimer took
// it meanwhile — answered once in each. The tests that hold the server's writes (CLIENT PAUSE, for every
// client) run serially, apart from the others.
import test, { type ExecutionContext } from 'ava';
import { Redis, type RedisOptions } from 'ioredis';
import { createLogger } from '../bot/logger.ts';
import { PendingAnswers, type ReplyGuard } from '../bot/runtime/pending-answers.ts';
import { AnswerLedger, type AnswerLease } from '../bot/store/answer-ledger.ts';
import { startPrivateRedis } from './helpers/redis-topology.ts';
import { uniqueName } from './helpers/services.ts';

const LEASE = 1000;
// A Redis of this file's own: several tests hold its writes (CLIENT PAUSE … WRITE), which on the shared
// server of `npm test` would stall every other test file's writes as well.
const own = await startPrivateRedis();
const client = (opts: RedisOptions = {}) => new Redis(own.url, { maxRetriesPerRequest: null, ...opts });
const redis = client();

test.after.always(async () => {
  redis.disconnect();
  await own.stop();
});

interface Replica { answers: PendingAnswers; ledger: AnswerLedger; clock: { ms: number }; logs: string[] }

function replica(prefix: string, opts: { client?: Redis; repliesDeduplicated?: boolean } = {}): Replica {
  const clock = { ms: 1_000_000 };
  const logs: string[] = [];
  const ledger = new AnswerLedger(opts.client ?? redis, { prefix, namespace: 'guard', leaseMs: LEASE });
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => { logs.push(line); } } });
  const answers = new PendingAnswers({
    ledger, logger, clock: { now: () => new Date(clock.ms) }, claimEveryMs: 1_000_000,
    ...(opts.repliesDeduplicated ? { repliesDeduplicated: true } : {}),
  });
  return { answers, ledger, clock, logs };
}

function freshPrefix(): string {
  return uniqueName(import.meta.url, 'prefix');
}

/** A promise and the function that settles it: a step held until the test lets it go. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => { open = r; });
  return { wait, open };
}

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 60_000;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens one request, held by replica `owner` (generation 1). */
async function opened(owner: Replica, id: string): Promise<AnswerLease> {
  const lease = await owner.answers.open(id, `record-${id}`);
  if (!lease) throw new Error(`${id} not opened`);
  return lease;
}

/** A replica whose client gives up on a command after 100 ms (the server may still run it later). */
async function impatientReplica(t: ExecutionContext, prefix: string): Promise<Replica> {
  const impatient = client({ commandTimeout: 100 });
  t.teardown(() => impatient.disconnect());
  await impatient.ping();
  return replica(prefix, { client: impatient });
}

/** `b`'s clock runs past every lease `a` took at its own (stalled) now. */
function pastTheLease(a: Replica, b: Replica): void {
  b.clock.ms = a.clock.ms + LEASE + 1;
}

for (const deduplicated of [false, true]) {
  test(`a holder stalled past its lease after marking its reply: ${deduplicated ? 'on Lark the claimer sends again under the same uuid' : 'the claimer sends nothing, the stalled send goes out: one reply'}`, async (t) => {
    const prefix = freshPrefix();
    const [a, b] = [replica(prefix), replica(prefix, { repliesDeduplicated: deduplicated })];
    const sends: string[] = [];
    const stalled = gate();
    const lease = await opened(a, 'req-1');
    const owner = a.answers.answer(lease, (guard) => guard(async () => { await stalled.wait; sends.push('a'); }));
    // The mark is in before the send leaves: wait for it, then let time pass the lease while `a` stalls.
    await until('the reply marked', async () => (await redis.hget(`${prefix}:{answers}:guard:e:req-1`, 'replied')) === 'sending');
    pastTheLease(a, b);
    t.is(await b.answers.sweep((_, guard) => guard(async () => { sends.push('b'); })), 1, 'claimed');
    await until('the claimer done', async () => (await b.ledger.pending()) === 0);
    stalled.open();
    await owner;
    if (deduplicated) t.deepEqual(sends.sort(), ['a', 'b'], 'both sent: Lark keeps one message per uuid');
    else t.deepEqual(sends, ['a'], 'answered once, by the stalled holder');
    t.is(b.logs.some((l) => l.includes('never confirmed')), !deduplicated);
    t.is(await b.ledger.pending(), 0);
  });
}

test('a holder fenced off before its reply sends nothing; the claimer answers once', async (t) => {
  const prefix = freshPrefix();
  const [a, b] = [replica(prefix), replica(prefix)];
  const sends: string[] = [];
  const stalled = gate();
  const lease = await opened(a, 'req-2');
  const owner = a.answers.answer(lease, async (guard) => { await stalled.wait; await guard(async () => { sends.push('a'); }); });
  pastTheLease(a, b);
  t.is(await b.answers.sweep((_, guard) => guard(async () => { sends.push('b'); })), 1);
  await until('the claimer done', async () => (await b.ledger.pending()) === 0);
  stalled.open();
  await owner;
  t.deepEqual(sends, ['b']);
  t.true(a.logs.some((l) => l.includes('not replying here') && l.includes('claimed')));
});

test('a reply mark that cannot reach Redis: the holder does not send; the entry is answered by its claimer', async (t) => {
  const prefix = freshPrefix();
  // The holder's ledger client is cut off (closed: every call fails at once), as in an outage.
  const cut = client();
  await cut.ping();
  cut.disconnect();
  const [a, b] = [replica(prefix, { client: cut }), replica(prefix)];
  const lease = await opened(b, 'req-3');
  const sends: string[] = [];
  await a.answers.answer(lease, (guard) => guard(async () => { sends.push('a'); }));
  t.deepEqual(sends, [], 'nothing sent without the mark');
  t.true(a.logs.some((l) => l.includes('ledger unreachable')));
  pastTheLease(b, b);
  t.is(await b.answers.sweep((_, guard) => guard(async () => { sends.push('b'); })), 1);
  await until('the claimer done', async () => (await b.ledger.pending()) === 0);
  t.deepEqual(sends, ['b']);
});

test('stopped (the bot shutting down): a ledger write that fails is tried once, not through a lease; the claimer answers', async (t) => {
  const prefix = freshPrefix();
  const cut = client();
  await cut.ping();
  cut.disconnect(); // as the bot's own close does, under the answers still in flight
  // The holder's ledger on the closed client, its reply marks counted.
  const ledger = new AnswerLedger(cut, { prefix, namespace: 'guard', leaseMs: LEASE });
  const beginReply = ledger.beginReply.bind(ledger);
  let marks = 0;
  ledger.beginReply = (...args) => { marks++; return beginReply(...args); };
  const answers = new PendingAnswers({ ledger, logger: createLogger({ level: 'silent' }), clock: { now: () => new Date(1_000_000) }, claimEveryMs: 1_000_000 });
  const b = replica(prefix);
  const lease = await opened(b, 'req-stop');
  answers.stop();
  const sends: string[] = [];
  await answers.answer(lease, (guard) => guard(async () => { sends.push('a'); }));
  // Before stop, the same call retries every 200 ms for a lease (5 tries here) while the process waits.
  t.is(marks, 1, 'the reply mark tried once');
  t.deepEqual(sends, [], 'nothing sent without the mark');
  pastTheLease(b, b);
  t.is(await b.answers.sweep((_, guard) => guard(async () => { sends.push('b'); })), 1);
  await until('the claimer done', async () => (await b.ledger.pending()) === 0);
  t.deepEqual(sends, ['b'], 'answered once, by the claimer');
});

test('a claimed answer that hangs does not hold back the others claimed with it', async (t) => {
  const prefix = freshPrefix();
  const [a, b] = [replica(prefix), replica(prefix)];
  await opened(a, 'req-hang');
  a.clock.ms += 1;
  await opened(a, 'req-next');
  const sends: string[] = [];
  const hung = gate();
  const resume = async (lease: AnswerLease, guard: ReplyGuard) => {
    if (lease.id === 'req-hang') await hung.wait;
    await guard(async () => { sends.push(lease.id); });
  };
  pastTheLease(a, b);
  b.clock.ms += 1;
  t.is(await b.answers.sweep(resume), 2);
  await until('the other answered', () => sends.includes('req-next'));
  t.deepEqual(sends, ['req-next'], 'answered while the first still hangs');
  hung.open();
  await until('both answered', async () => (await b.ledger.pending()) === 0);
  t.deepEqual(sends.sort(), ['req-hang', 'req-next']);
});

test('a reply that is the answer\'s last step: the entry is closed without a reply mark; an answer that works on after its reply marks it', async (t) => {
  const prefix = freshPrefix();
  const a = replica(prefix);
  const marks: string[] = [];
  const markReplied = a.ledger.markReplied.bind(a.ledger);
  a.ledger.markReplied = async (lease) => { marks.push(lease.id); return markReplied(lease); };
  const sends: string[] = [];
  await a.answers.answer(await opened(a, 'req-last'), (guard) => guard(async () => { sends.push('last'); }));
  t.deepEqual(marks, [], 'closed instead: one round trip less');
  // Working on after the reply (waiting on I/O): the entry says the reply is out, as a claimer must see it.
  const key = `${prefix}:{answers}:guard:e:req-more`;
  await a.answers.answer(await opened(a, 'req-more'), async (guard) => {
    await guard(async () => { sends.push('more'); });
    await until('the reply marked as sent', async () => (await redis.hget(key, 'replied')) === '1');
  });
  t.deepEqual(marks, ['req-more']);
  t.deepEqual(sends, ['last', 'more']);
  t.is(await a.ledger.pending(), 0, 'both entries closed');
});

test.serial('an opening whose answer timed out but which ran (the Redis server held it): its reply adopts the entry, and no claimer answers again', async (t) => {
  const prefix = freshPrefix();
  // The holder's client gives up on a command after 100 ms; the server holds every write for 600 ms (as a
  // loaded event loop or a failover does): both tries of the opening time out, and both run afterwards.
  const [a, b] = [await impatientReplica(t, prefix), replica(prefix)];
  // The ledger's scripts go by SHA-1 (EVALSHA): on a server that has not seen them yet, the held call would
  // answer NOSCRIPT after its client gave up, and nothing would send the script itself — the opening would
  // never run (the case the next test covers). One answered request first loads them, as any bot's does.
  await a.answers.answer(await opened(a, 'req-warm'), (guard) => guard(async () => undefined));
  await redis.call('CLIENT', 'PAUSE', '600', 'WRITE');
  const lease = await a.answers.open('req-late', 'record-req-late');
  t.truthy(lease?.unsure, 'the opening is unconfirmed');
  await until('the held opening ran', async () => (await redis.hget(`${prefix}:{answers}:guard:e:req-late`, 'gen')) === '1');
  const sends: string[] = [];
  await a.answers.answer(lease!, (guard) => guard(async () => { sends.push('a'); }));
  pastTheLease(a, b);
  t.is(await b.answers.sweep((_, guard) => guard(async () => { sends.push('b'); })), 0, 'nothing left to claim');
  t.deepEqual(sends, ['a'], 'answered once');
  t.is(await b.ledger.pending(), 0);
});

test('an unconfirmed opening that had not run when its reply went: the request is closed, and the opening, landing late, opens nothing', async (t) => {
  const prefix = freshPrefix();
  const [a, b] = [replica(prefix), replica(prefix)];
  const lease: AnswerLease = { id: 'req-later', gen: 1, record: 'record-req-later', replied: false, unconfirmed: false, unsure: 'token-1' };
  const sends: string[] = [];
  await a.answers.answer(lease, (guard) => guard(async () => { sends.push('a'); }));
  t.is(await a.ledger.open('req-later', 'record-req-later', a.clock.ms, 'token-1'), null, 'the late opening is refused');
  pastTheLease(a, b);
  t.is(await b.answers.sweep((_, guard) => guard(async () => { sends.push('b'); })), 0);
  t.deepEqual(sends, ['a']);
});

test.serial('an adoption whose answer was lost after it ran (it found no entry and closed the request): asked again, it still answers', async (t) => {
  const prefix = freshPrefix();
  // The opening never ran. The adoption's first try runs while the server holds writes past the holder's
  // client timeout, so its answer is lost; the retry must read the closed mark as its own, not another's.
  const [a, b] = [await impatientReplica(t, prefix), replica(prefix)];
  const lease: AnswerLease = { id: 'req-lost', gen: 1, record: 'record-req-lost', replied: false, unconfirmed: false, unsure: 'token-3' };
  const sends: string[] = [];
  await redis.call('CLIENT', 'PAUSE', '600', 'WRITE');
  await a.answers.answer(lease, (guard) => guard(async () => { sends.push('a'); }));
  pastTheLease(a, b);
  t.is(await b.answers.sweep((_, guard) => guard(async () => { sends.push('b'); })), 0, 'nothing to claim');
  t.deepEqual(sends, ['a'], 'answered once, by its holder');
  t.is(await a.ledger.open('req-lost', 'record-req-lost', a.clock.ms, 'token-3'), null, 'the request stays closed');
});

test('an unconfirmed opening whose entry a claimer took meanwhile: its holder does not reply', async (t) => {
  const prefix = freshPrefix();
  const [a, b] = [replica(prefix), replica(prefix)];
  await a.ledger.open('req-taken', 'record-req-taken', a.clock.ms, 'token-2');
  pastTheLease(a, b);
  const sends: string[] = [];
  t.is(await b.answers.sweep((_, guard) => guard(async () => { sends.push('b'); })), 1);
  await until('the claimer done', async () => (await b.ledger.pending()) === 0);
  const lease: AnswerLease = { id: 'req-taken', gen: 1, record: 'record-req-taken', replied: false, unconfirmed: false, unsure: 'token-2' };
  await a.answers.answer(lease, (guard) => guard(async () => { sends.push('a'); }));
  t.deepEqual(sends, ['b'], 'answered once, by the claimer');
});
