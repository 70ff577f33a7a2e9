// The pending-answer ledger (bot/store/answer-ledger.ts) against a model, on the real Redis, over
// generated histories of three bot replicas: requests acknowledged (the entry opened first), answers
// sent through the guard's protocol (beginReply, then the send, then markReplied, then finish — or
// finish straight after the send, as an answer whose reply was its last step does, its mark dropped),
// heartbeats, claims by any replica, leases running out as the clock advances (a holder that does not
// step while time passes is a bot stalled by load, past its lease or not), and replicas killed at any
// step (a killed replica forgets every lease it held). A holder fenced off by a claim does not know it:
// it goes on with its next step when it wakes, as a stalled bot does.
// After every step: no request answered twice (at most one holder ever passes beginReply, and a send
// needs it), the ledger's entries and their generation and reply mark are the model's, and every call
// is accepted exactly when its generation is the current one. After each history, replicas that stay up
// finish everything: every acknowledged request is then answered exactly once, except one whose
// sender died between beginReply and its send: that one is never answered (at most once, by design).
// Openings whose answer never came (a timeout) are generated too: the opening ran at once, runs at a
// later step (a command ioredis resends after a reconnect) or never; its holder adopts it before its reply
// (sometimes twice: the first adoption ran but its answer was lost, and the retry must answer as it did)
// or settles it after, and a late opening of a closed request makes no entry. One whose holder died
// before replying is answered only if its opening made an entry.
import test from 'ava';
import fc from 'fast-check';
import { AnswerLedger, type AnswerLease } from '../bot/store/answer-ledger.ts';
import { dropPrefix, testRedis, uniqueName } from './helpers/services.ts';

const LEASE = 1000;
const REPLICAS = 3;
const RUNS = Number(process.env.LEDGER_MODEL_RUNS ?? 60);
const redis = testRedis();
const prefixes: string[] = [];

test.after.always(async () => {
  for (const p of prefixes) await dropPrefix(p);
  redis.disconnect();
});

/**
 * Where a holder is in answering one request: `working` (computing the answer), `begun` (marked
 * sending, the send not out yet), `sent`, `marked` (replied), or `closing` (a claimer that found the
 * reply begun by someone else: it only closes the entry).
 */
type Stage = 'working' | 'begun' | 'sent' | 'marked' | 'closing';
interface Holding { lease: AnswerLease; stage: Stage; held: boolean }
/** The ledger's entry, as the model sees it. */
interface Entry { gen: number; until: number; mark: '0' | 'sending' | '1'; opener: string }
/** An opening whose answer never came, still to run on the server (a command resent after a reconnect). */
interface Landing { id: string; token: string; at: number }

type Action =
  | { kind: 'ack'; replica: number }
  /** An opening whose answer never came: it ran at once, runs later (a `land` step), or never. */
  | { kind: 'ackUnsure'; replica: number; lands: 'now' | 'later' | 'never' }
  | { kind: 'land'; pick: number }
  /** `closeNow`: a holder whose reply is out closes the entry without marking it replied first. `again`: an adoption's answer lost, so it is asked twice. */
  | { kind: 'step'; replica: number; pick: number; closeNow: boolean; again: boolean }
  | { kind: 'beat'; replica: number; pick: number }
  | { kind: 'claim'; replica: number }
  | { kind: 'crash'; replica: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'stall'; replica: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ack' as const), replica: fc.nat(REPLICAS - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ackUnsure' as const), replica: fc.nat(REPLICAS - 1), lands: fc.constantFrom('now' as const, 'later' as const, 'never' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('land' as const), pick: fc.nat(7) }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('step' as const), replica: fc.nat(REPLICAS - 1), pick: fc.nat(7), closeNow: fc.boolean(), again: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('beat' as const), replica: fc.nat(REPLICAS - 1), pick: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('claim' as const), replica: fc.nat(REPLICAS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), replica: fc.nat(REPLICAS - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 1500 }) }) },
  // Every holder stalls past its lease while `replica` claims: the race the drills hit under load.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stall' as const), replica: fc.nat(REPLICAS - 1) }) },
);

class World {
  now = 1_000_000;
  next = 0;
  /** What each replica holds (forgotten on a crash), fenced off or not. */
  held: Holding[][] = Array.from({ length: REPLICAS }, () => []);
  entries = new Map<string, Entry>();
  replies = new Map<string, number>();
  /** Requests whose one sender died between beginReply and its send: never answered. */
  lost = new Set<string>();
  /** Requests closed (finished, or settled / adopted as 'none' by an unconfirmed opener): no opening makes them again. */
  closed = new Set<string>();
  /** Openings still to run, and the requests any opening made an entry for. */
  landings: Landing[] = [];
  opened = new Set<string>();
  /** Unconfirmed openers that died before replying: answered only if their opening made an entry. */
  orphans = new Set<string>();
  adoptions = { held: 0, none: 0, taken: 0 };
  /** Claims that fenced off a live holder still working, and claims that found a live holder's reply in flight. */
  fencedOff = 0;
  inFlight = 0;
  constructor(readonly ledger: AnswerLedger, private readonly prefix: string) {}

  private current(h: Holding): boolean {
    return this.entries.get(h.lease.id)?.gen === h.lease.gen;
  }

  private drop(replica: number, h: Holding): void {
    this.held[replica] = this.held[replica]!.filter((x) => x !== h);
  }

  /** A ledger call's answer must be the model's: accepted exactly when the caller's generation is current. */
  private expect(call: string, h: Holding, got: boolean): boolean {
    const want = this.current(h);
    if (got !== want) throw new Error(`${h.lease.id}@${h.lease.gen}: ${call} answered ${got}, the model says ${want}`);
    return got;
  }

  async ack(replica: number): Promise<void> {
    const id = `r${this.next++}`;
    const lease = await this.ledger.open(id, `record-${id}`, this.now, `open-${id}`);
    if (!lease) throw new Error(`${id} was open already`);
    // The same opening tried again (its answer lost) gets the lease; a redelivery of the request is refused.
    if ((await this.ledger.open(id, `record-${id}`, this.now, `open-${id}`))?.gen !== 1) throw new Error('a retried opening was refused');
    if (await this.ledger.open(id, 'again', this.now, 'redelivery') !== null) throw new Error('a redelivery opened a second entry');
    this.entries.set(id, { gen: 1, until: this.now + LEASE, mark: '0', opener: `open-${id}` });
    this.opened.add(id);
    this.held[replica]!.push({ lease, stage: 'working', held: true });
  }

  /** An acknowledged request whose opening's answer never came: held as an unsure lease (pending-answers.ts). */
  async ackUnsure(replica: number, lands: 'now' | 'later' | 'never'): Promise<void> {
    const id = `r${this.next++}`;
    const landing = { id, token: `open-${id}`, at: this.now };
    if (lands === 'now') await this.land(landing);
    if (lands === 'later') this.landings.push(landing);
    this.held[replica]!.push({ lease: { id, gen: 1, record: `record-${id}`, replied: false, unconfirmed: false, unsure: landing.token }, stage: 'working', held: true });
  }

  /** The opening runs on the server, with the time its bot sent it: it makes the entry unless the request is closed or open. */
  async land(l: Landing): Promise<void> {
    this.landings = this.landings.filter((x) => x !== l);
    const got = await this.ledger.open(l.id, `record-${l.id}`, l.at, l.token);
    const entry = this.entries.get(l.id);
    const want = !this.closed.has(l.id) && (!entry || (entry.opener === l.token && entry.gen === 1));
    if (!!got !== want) throw new Error(`${l.id}: a late opening answered ${JSON.stringify(got)}, the model says ${want}`);
    if (want && !entry) {
      this.entries.set(l.id, { gen: 1, until: l.at + LEASE, mark: '0', opener: l.token });
      this.opened.add(l.id);
    }
  }

  /** An unsure holder's first reply: adopt (answer-ledger.ts: ADOPT), checked against the model. */
  private async adopt(replica: number, h: Holding, again: boolean): Promise<void> {
    const id = h.lease.id;
    const entry = this.entries.get(id);
    const want = this.closed.has(id) ? 'taken'
      : entry ? (entry.opener === h.lease.unsure && entry.gen === 1 ? 'held' : 'taken') : 'none';
    // Asked again: the first adoption ran but its answer never came back (a client timeout).
    if (again) await this.ledger.adopt({ ...h.lease, unsure: h.lease.unsure! }, this.now);
    const got = await this.ledger.adopt({ ...h.lease, unsure: h.lease.unsure! }, this.now);
    if (got !== want) throw new Error(`${id}: adopt answered ${got}, the model says ${want}`);
    this.adoptions[got]++;
    if (got === 'taken') return this.drop(replica, h);
    if (got === 'held') {
      entry!.until = this.now + LEASE;
      if (entry!.mark === '0') entry!.mark = 'sending';
      h.lease = { ...h.lease, unsure: undefined } as AnswerLease;
      delete h.lease.unsure;
    } else {
      this.closed.add(id);
    }
    h.stage = 'begun';
  }

  /** The end of an unsure holder's answer: settle (answer-ledger.ts: SETTLE). */
  private async settleUnsure(replica: number, h: Holding): Promise<void> {
    const id = h.lease.id;
    await this.ledger.settle({ ...h.lease, unsure: h.lease.unsure! });
    const entry = this.entries.get(id);
    if (entry && entry.opener === h.lease.unsure && entry.gen === 1) this.entries.delete(id);
    this.closed.add(id);
    this.drop(replica, h);
  }

  /** One step of the guard's protocol (pending-answers.ts), by a holder that may have been fenced off. */
  async step(replica: number, h: Holding, closeNow: boolean, again = false): Promise<void> {
    const id = h.lease.id;
    const entry = this.entries.get(id);
    if (h.lease.unsure !== undefined && h.stage === 'working') return this.adopt(replica, h, again);
    if (h.lease.unsure !== undefined && h.stage === 'sent') return this.settleUnsure(replica, h);
    if (h.stage === 'working') {
      if (!h.held || !this.expect('beginReply', h, await this.ledger.beginReply(h.lease, this.now))) return this.drop(replica, h);
      entry!.until = this.now + LEASE;
      if (entry!.mark === '0') entry!.mark = 'sending';
      h.stage = 'begun';
    } else if (h.stage === 'begun') {
      // The send itself: nothing asks the ledger (a bot that stalled here sends when it wakes).
      this.replies.set(id, (this.replies.get(id) ?? 0) + 1);
      h.stage = 'sent';
    } else if (h.stage === 'sent' && !closeNow) {
      if (this.expect('markReplied', h, await this.ledger.markReplied(h.lease))) entry!.mark = '1';
      h.stage = 'marked';
    } else {
      if (h.held && this.expect('finish', h, await this.ledger.finish(h.lease))) {
        this.entries.delete(id);
        this.closed.add(id);
      }
      this.drop(replica, h);
    }
  }

  /** The heartbeat: a renewal refused tells the holder it was claimed away. */
  async beat(h: Holding): Promise<void> {
    if (h.lease.unsure !== undefined) return; // nothing to renew before it is adopted
    if (this.expect('renew', h, await this.ledger.renew(h.lease, this.now))) this.entries.get(h.lease.id)!.until = this.now + LEASE;
    else h.held = false;
  }

  async claim(replica: number): Promise<void> {
    const leases = await this.ledger.claim(this.now, 100);
    const due = [...this.entries].filter(([, e]) => e.until <= this.now).map(([id]) => id).sort();
    const got = leases.map((l) => l.id).sort();
    if (got.join() !== due.join()) throw new Error(`claimed ${got.join()}, due ${due.join()}`);
    for (const lease of leases) {
      const entry = this.entries.get(lease.id)!;
      for (const hs of this.held) {
        for (const h of hs) {
          if (h.lease.id !== lease.id || !this.current(h)) continue;
          if (h.stage === 'working') this.fencedOff++;
          if (h.stage === 'begun') this.inFlight++;
        }
      }
      entry.gen++;
      entry.until = this.now + LEASE;
      if (lease.gen !== entry.gen || lease.replied !== (entry.mark !== '0') || lease.unconfirmed !== (entry.mark === 'sending')) {
        throw new Error(`${lease.id}: claimed as ${JSON.stringify(lease)}, the model has ${JSON.stringify(entry)}`);
      }
      // A claimer that finds a reply begun only closes the entry (pending-answers.ts).
      this.held[replica]!.push({ lease, stage: lease.replied ? 'closing' : 'working', held: true });
    }
  }

  crash(replica: number): void {
    for (const h of this.held[replica]!) if (h.stage === 'begun') this.lost.add(h.lease.id);
    for (const h of this.held[replica]!) if (h.lease.unsure !== undefined && h.stage === 'working') this.orphans.add(h.lease.id);
    this.held[replica] = [];
  }

  async check(): Promise<void> {
    // At most one sender per request: replies out, plus holders about to send.
    const senders = new Map(this.replies);
    for (const h of this.held.flat()) if (h.stage === 'begun') senders.set(h.lease.id, (senders.get(h.lease.id) ?? 0) + 1);
    for (const [id, n] of senders) if (n > 1) throw new Error(`${id} has ${n} senders`);
    if (await this.ledger.pending() !== this.entries.size) throw new Error(`ledger holds ${await this.ledger.pending()} entries, the model ${this.entries.size}`);
    for (const [id, e] of this.entries) {
      const [gen, replied, until] = await redis.hmget(`${this.prefix}:{answers}:model:e:${id}`, 'gen', 'replied', 'until');
      if (Number(gen) !== e.gen || replied !== e.mark || Number(until) !== e.until) throw new Error(`${id}: ledger ${gen}/${replied}/${until}, model ${JSON.stringify(e)}`);
    }
    for (const id of this.closed) if (await redis.exists(`${this.prefix}:{answers}:model:x:${id}`) !== 1) throw new Error(`${id} closed in the model, not in the ledger`);
  }

  /**
   * Replicas stay up: each finishes what it holds (a stalled holder wakes and goes on, even when its
   * entry was closed meanwhile), then leases run out and one claims (bounded).
   */
  async settle(): Promise<void> {
    // Every opening still on its way runs (a resent command reaches the server in the end).
    while (this.landings.length > 0) {
      await this.land(this.landings[0]!);
      await this.check();
    }
    for (let round = 0; this.entries.size > 0 || this.held.some((hs) => hs.length > 0); round++) {
      if (round > 50) throw new Error(`still open: ${[...this.entries.keys()].join(',')}`);
      for (const r of this.held.keys()) {
        while (this.held[r]!.length > 0) {
          const h = this.held[r]![0]!;
          await this.step(r, h, Number(h.lease.id.slice(1)) % 2 === 0);
          await this.check();
        }
      }
      this.now += LEASE + 1;
      await this.claim(round % REPLICAS);
      await this.check();
    }
  }
}

async function run(w: World, a: Action): Promise<void> {
  const pick = (replica: number, n: number) => w.held[replica]![n % Math.max(1, w.held[replica]!.length)];
  switch (a.kind) {
    case 'ack': return w.ack(a.replica);
    case 'ackUnsure': return w.ackUnsure(a.replica, a.lands);
    case 'land': {
      const l = w.landings[a.pick % Math.max(1, w.landings.length)];
      return l ? w.land(l) : undefined;
    }
    case 'step': {
      const h = pick(a.replica, a.pick);
      return h ? w.step(a.replica, h, a.closeNow, a.again) : undefined;
    }
    case 'beat': {
      const h = pick(a.replica, a.pick);
      return h ? w.beat(h) : undefined;
    }
    case 'claim': return w.claim(a.replica);
    case 'crash': return w.crash(a.replica);
    case 'tick': w.now += a.ms; return;
    case 'stall':
      w.now += LEASE + 1;
      return w.claim(a.replica);
  }
}

test('every acknowledged request answered once, through stalls past the lease, claims and crashes; never twice', async (t) => {
  let lost = 0;
  const adoptions = { held: 0, none: 0, taken: 0 };
  let fencedOff = 0;
  let inFlight = 0;
  await fc.assert(fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 60 }), async (actions) => {
    const prefix = uniqueName(import.meta.url, 'prefix');
    prefixes.push(prefix);
    const w = new World(new AnswerLedger(redis, { prefix, namespace: 'model', leaseMs: LEASE }), prefix);
    for (const a of actions) {
      await run(w, a);
      await w.check();
    }
    await w.settle();
    for (let i = 0; i < w.next; i++) {
      const id = `r${i}`;
      const n = w.replies.get(id) ?? 0;
      // Unanswered only when its sender died between beginReply and the send, or its unconfirmed opener
      // died before replying and its opening never made an entry (nobody knows of the request).
      const unanswerable = w.lost.has(id) || (w.orphans.has(id) && !w.opened.has(id));
      if (n !== (unanswerable ? 0 : 1)) throw new Error(`${id} answered ${n} times (unanswerable: ${unanswerable})`);
    }
    for (const k of ['held', 'none', 'taken'] as const) adoptions[k] += w.adoptions[k];
    lost += w.lost.size;
    fencedOff += w.fencedOff;
    inFlight += w.inFlight;
  }), { numRuns: RUNS });
  t.log(`claims that fenced off a live holder: ${fencedOff}; that found a live holder's reply in flight: ${inFlight}; senders killed before sending: ${lost}; unconfirmed openings adopted ${JSON.stringify(adoptions)}`);
  t.true(fencedOff > 0 && inFlight > 0, 'the histories reached both races');
  t.true(adoptions.held > 0 && adoptions.none > 0 && adoptions.taken > 0, 'unconfirmed openings that ran, had not run, and were claimed');
});

test('an entry is bound to its hash tag: every key of the ledger is in one cluster slot; platforms\' ledgers are apart', async (t) => {
  const prefix = uniqueName(import.meta.url, 'prefix');
  prefixes.push(prefix);
  const ledger = new AnswerLedger(redis, { prefix, namespace: 'model', leaseMs: LEASE });
  await ledger.open('a-1', 'x', 0, 't1');
  await ledger.open('b-2', 'y', 0, 't2');
  const keys = await redis.keys(`${prefix}:*`);
  t.is(keys.length, 3);
  t.true(keys.every((k) => k.startsWith(`${prefix}:{answers}:model:`)), keys.join(' '));
  // A record outlives no Slack response_url: the entry expires on its own.
  const ttl = await redis.ttl(`${prefix}:{answers}:model:e:a-1`);
  t.true(ttl > 0 && ttl <= 1800, String(ttl));
  // Another platform's ledger on the same prefix: its claimer never takes (and could not decode) these.
  const other = new AnswerLedger(redis, { prefix, namespace: 'other', leaseMs: LEASE });
  t.deepEqual(await other.claim(LEASE * 10), []);
  t.is((await other.open('a-1', 'z', 0, 't1'))?.gen, 1, 'the same id is a different request there');
  t.deepEqual((await ledger.claim(LEASE * 10)).map((l) => l.record).sort(), ['x', 'y']);
});
